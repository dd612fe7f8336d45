"""A local Tableau endpoint that never expires, for every tool and language.

Tools (tabcmd, TSC, curl, PowerShell, Postman, Node, Java, R) sign in to the proxy as to Tableau
and get a local token; the proxy holds the one real session and forwards their requests with it,
signing in again (once, for everyone) and replaying when Tableau ends it.

    from tabsession.proxy import Proxy, ProxyConfig

    with Proxy(ProxyConfig("https://tableau.example.com", pat, site="marketing", port=0)) as p:
        ...  # point any Tableau client at p.url

Needs the `proxy` extra (starlette, uvicorn). From the shell: `tabsession proxy`.
"""

from tabsession.proxy.access import AccessKey
from tabsession.proxy.config import ProxyConfig
from tabsession.proxy.server import Proxy, serve

__all__ = ["AccessKey", "Proxy", "ProxyConfig", "serve"]
