"""`kvsim validate`: kvsim's models of Redis and memcached against the real servers.

    compare.py  a trace replayed through a real server and through kvsim's model of it,
                as a cache-aside client does; the report (validate.json)
    servers.py  the real redis-server and memcached: started here, spoken to, stopped

The flags and the server's lifetime around a command are experiments/cli/validate.py's;
`kvsim bench`'s servers section runs the same comparison for every model.
"""
