"""leakcert's reference VPN kill switch: a Policy rendered as one nftables table.

`enforcer.policy` is the backend-free policy model; `enforcer.nftables` renders
and applies it; `enforcer.cli` is the `leakcert-enforcer` command.
"""
