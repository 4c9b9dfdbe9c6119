"""Work shared through Redis (FRONTIER_URL): the connection, the key names, a lease queue."""
