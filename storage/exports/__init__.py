"""Article records out of the catalogue: their fields (records), files (writers), texts."""
