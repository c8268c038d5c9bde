"""One policy, three firewalls: which renderer gives which artifact.

    nftables  the ruleset `nft -f -` loads (Linux; applied and tested here)
    pf        the anchor `pfctl -a leakcert -f -` loads, or the up/down scripts and
              the boot LaunchDaemon (macOS)
    wfp       a JSON description of WFP provider, sublayer and filters (Windows)

Only nftables can be applied on this machine; pf and wfp are rendered for a Mac
or a Windows machine to load.
"""

from __future__ import annotations

from enforcer import nftables
from enforcer.policy import Policy, PolicyError

PLATFORMS = ("nftables", "pf", "wfp")
PF_SCRIPTS = ("up", "down", "launchd")


def render(
    platform: str,
    policy: Policy | None,
    *,
    pf_user: str | None = None,
    pf_script: str | None = None,
    wfp_app: str | None = None,
) -> str:
    """The artifact for `platform`; None renders block-all. PolicyError for a misplaced option."""
    if platform not in PLATFORMS:
        raise PolicyError(f"platform {platform!r} is not one of {', '.join(PLATFORMS)}")
    for option, value, owner in (
        ("--pf-user", pf_user, "pf"),
        ("--pf-script", pf_script, "pf"),
        ("--wfp-app", wfp_app, "wfp"),
    ):
        if value is not None and platform != owner:
            raise PolicyError(f"{option} is for --platform {owner} only")
    if platform == "nftables":
        return nftables.render(policy)
    # Imported here: a Linux hook starts the enforcer several times per connect, and
    # these renderers' imports (plistlib, uuid) would be most of its start-up.
    from enforcer import pf, wfp

    if platform == "wfp":
        return wfp.render(policy, wfp_app)
    if pf_script in ("down", "launchd"):
        if pf_user is not None:
            raise PolicyError(f"--pf-script {pf_script} takes no --pf-user")
        return pf.down_script() if pf_script == "down" else pf.launchd_plist()
    if pf_script == "up":
        return pf.up_script(policy, pf_user)
    return pf.render(policy, pf_user)
