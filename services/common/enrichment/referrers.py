"""Where a visit came from: referrer classification (search, social, email, paid, internal, direct, other) with the
source's name, UTM campaign fields, and site search terms. Pure functions of URLs and the client's context."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

# Host (without "www.") → source name. A host matches an entry when it is the entry or one of its subdomains.
SEARCH_ENGINES = {
    "google": "google",
    "bing.com": "bing",
    "duckduckgo.com": "duckduckgo",
    "search.yahoo.com": "yahoo",
    "yandex": "yandex",
    "baidu.com": "baidu",
    "ecosia.org": "ecosia",
    "qwant.com": "qwant",
    "search.brave.com": "brave",
    "startpage.com": "startpage",
    "seznam.cz": "seznam",
    "naver.com": "naver",
    "ask.com": "ask",
    "perplexity.ai": "perplexity",
    "chatgpt.com": "chatgpt",
}
SOCIAL_NETWORKS = {
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "m.facebook.com": "facebook",
    "l.facebook.com": "facebook",
    "instagram.com": "instagram",
    "l.instagram.com": "instagram",
    "t.co": "twitter",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "linkedin.com": "linkedin",
    "lnkd.in": "linkedin",
    "pinterest": "pinterest",
    "pin.it": "pinterest",
    "reddit.com": "reddit",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "tiktok.com": "tiktok",
    "snapchat.com": "snapchat",
    "threads.net": "threads",
    "bsky.app": "bluesky",
    "mastodon.social": "mastodon",
    "vk.com": "vk",
    "xing.com": "xing",
    "whatsapp.com": "whatsapp",
    "telegram.org": "telegram",
    "t.me": "telegram",
}
WEBMAIL = {
    "mail.google.com": "gmail",
    "outlook.live.com": "outlook",
    "outlook.office.com": "outlook",
    "outlook.office365.com": "outlook",
    "mail.yahoo.com": "yahoo-mail",
    "mail.aol.com": "aol-mail",
    "mail.proton.me": "proton",
    "webmail": "webmail",
}
# utm_medium values (lower-cased) and what they say about the visit.
PAID_MEDIUMS = frozenset(
    {"cpc", "ppc", "cpm", "cpv", "cpa", "paid", "paidsearch", "paid-search", "paid_search", "paidsocial",
     "paid-social", "paid_social", "display", "banner", "retargeting", "affiliate", "sponsored", "ads"}
)  # fmt: skip
EMAIL_MEDIUMS = frozenset({"email", "e-mail", "e_mail", "newsletter", "mail", "crm"})
SOCIAL_MEDIUMS = frozenset({"social", "social-network", "social_network", "social-media", "social_media", "sm"})
SEARCH_MEDIUMS = frozenset({"organic", "search"})
# Click ids that ad platforms append to paid clicks only.
PAID_CLICK_IDS = {"gclid": "google", "gbraid": "google", "wbraid": "google", "dclid": "google", "msclkid": "bing"}
CAMPAIGN_KEYS = ("source", "medium", "name", "term", "content")
DEFAULT_SEARCH_PARAMETERS = ("q", "s", "search", "query", "keyword")
MAX_VALUE = 200  # campaign values and search terms are cut to this length


def split(url: object) -> tuple[str, list[tuple[str, str]]]:
    """`(host without www., query pairs)` of a URL; ("", []) for anything that is not an http(s) URL."""
    if not isinstance(url, str) or not url:
        return "", []
    return _split(url[:2048])


@lru_cache(maxsize=4096)
def _split(url: str) -> tuple[str, list[tuple[str, str]]]:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "", []
    if parts.scheme not in ("http", "https"):
        return "", []
    return _bare(host), parse_qsl(parts.query, keep_blank_values=False)


def _bare(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


@lru_cache(maxsize=4096)
def _known(host: str, table_name: str) -> str | None:
    table = {"search": SEARCH_ENGINES, "social": SOCIAL_NETWORKS, "email": WEBMAIL}[table_name]
    labels = host.split(".")
    for start in range(len(labels)):
        suffix = ".".join(labels[start:])
        if suffix in table:
            return table[suffix]
    # Entries without a dot name a brand on any country domain (google.fr, google.co.uk, yandex.com.tr): the brand
    # label followed only by TLD-like labels, so google.example.com is not Google.
    for index, label in enumerate(labels[:-1]):
        if label in table and "." not in label and all(len(rest) <= 3 for rest in labels[index + 1 :]):
            return table[label]
    return None


def same_site(host: str, site_host: str, internal_domains: tuple[str, ...] = ()) -> bool:
    """The referrer host is the page's own site (or a subdomain of each other) or a configured internal domain."""
    if not host:
        return False
    if site_host and (host == site_host or host.endswith("." + site_host) or site_host.endswith("." + host)):
        return True
    return any(host == d or host.endswith("." + d) for d in internal_domains)


def campaign(context_campaign: object, page_query: list[tuple[str, str]]) -> dict[str, str] | None:
    """UTM fields: the client's `context.campaign` (analytics.js parses it), else the page URL's utm_* parameters."""
    out: dict[str, str] = {}
    if isinstance(context_campaign, dict):
        for key in CAMPAIGN_KEYS:
            value = context_campaign.get(key)
            if isinstance(value, str) and value:
                out[key] = value[:MAX_VALUE]
    for key, value in page_query:
        if key.startswith("utm_") and value:
            field = "name" if key == "utm_campaign" else key[4:]
            if field in CAMPAIGN_KEYS and field not in out:
                out[field] = value[:MAX_VALUE]
    return out or None


def classify(
    referrer_url: object,
    page_host: str,
    page_query: list[tuple[str, str]],
    utm: dict[str, str] | None,
    internal_domains: tuple[str, ...] = (),
) -> dict[str, str]:
    """`{"type", "source"?}`: paid click ids and utm_medium first (the marketer said so), then the referrer host."""
    for key, value in page_query:
        if key in PAID_CLICK_IDS and value:
            return {"type": "paid", "source": (utm or {}).get("source") or PAID_CLICK_IDS[key]}
    host, _ = split(referrer_url)
    if utm:
        medium = utm.get("medium", "").lower()
        source = utm.get("source") or _named(host)
        kind = (
            "paid"
            if medium in PAID_MEDIUMS
            else "email"
            if medium in EMAIL_MEDIUMS
            else "social"
            if medium in SOCIAL_MEDIUMS
            else "search"
            if medium in SEARCH_MEDIUMS
            else None
        )
        if kind:
            return _referrer(kind, source)
    if not host:
        if utm and utm.get("source"):
            return _referrer("other", utm["source"])
        return {"type": "direct"}
    if same_site(host, page_host, internal_domains):
        return {"type": "internal"}
    for kind in ("email", "social", "search"):  # webmail first: mail.google.com is not a Google search
        name = _known(host, kind)
        if name:
            return _referrer(kind, name)
    return _referrer("other", (utm or {}).get("source") or host)


def _named(host: str) -> str | None:
    if not host:
        return None
    return _known(host, "email") or _known(host, "social") or _known(host, "search") or host


def _referrer(kind: str, source: str | None) -> dict[str, str]:
    return {"type": kind, "source": source[:MAX_VALUE]} if source else {"type": kind}


def search_terms(page_query: list[tuple[str, str]], parameters: tuple[str, ...]) -> str | None:
    """What the visitor searched for on the site, from the first configured query parameter that is present."""
    if not parameters:
        return None
    found = dict(page_query)
    for name in parameters:
        value = found.get(name)
        if value:
            terms = " ".join(value.split())
            if terms:
                return terms[:MAX_VALUE]
    return None
