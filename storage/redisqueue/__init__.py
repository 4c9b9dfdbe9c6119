"""Work shared through Redis (FRONTIER_URL): the connection and key names (connection), the
tasks of a shared re-extraction or import (leases), and the frontier of a shared crawl job
(frontier)."""
