"""Who may write and read which service schema: write-ownership and read-contract."""
