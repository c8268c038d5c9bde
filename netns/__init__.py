"""The lab: Linux network namespaces with a client, a LAN router, a VPN server
and internet hosts, real daemons, a capture of the wire that misses nothing,
and the oracle that judges it.
"""
