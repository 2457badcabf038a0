"""The demo site's audience and catalogue: where new and returning visitors come from, their
browsers and countries, the pages they read, the plans they buy, the web vitals their browsers
report and the errors the checkout throws — the weighted tables `world.World` draws from."""

from __future__ import annotations

# (weight, referrer, utm query, click id)
Acquisition = tuple[int, str | None, str, str]

# How a new visitor first arrives.
ACQUISITION: tuple[Acquisition, ...] = (
    (30, None, "", ""),
    (26, "https://www.google.com/", "", ""),
    (6, "https://www.bing.com/", "", ""),
    (3, "https://duckduckgo.com/", "", ""),
    (6, "https://news.ycombinator.com/", "", ""),
    (5, "https://www.reddit.com/r/analytics/", "", ""),
    (4, "https://t.co/", "", ""),
    (4, "https://www.linkedin.com/", "", ""),
    (5, None, "utm_source=newsletter&utm_medium=email&utm_campaign=november", ""),
    (6, "https://www.google.com/", "utm_source=google&utm_medium=cpc&utm_campaign=brand", "gclid"),
    (3, "https://www.facebook.com/", "utm_source=facebook&utm_medium=paid_social", "fbclid"),
    (4, "https://github.com/clycyo/clycyo", "", ""),
    (3, "https://blog.example.org/best-analytics-tools", "", ""),
)

# How a visitor comes back, in the proportions of a small SaaS's returning traffic: half type
# the address or use a bookmark, a quarter search the product's name (a search engine's referrer
# carries no query), the rest follow a newsletter, a retargeting ad, a social post or the
# repository. The last touch of a customer who came back this way is not their first touch.
RETURNS: tuple[Acquisition, ...] = (
    (48, None, "", ""),
    (20, "https://www.google.com/", "", ""),
    (3, "https://www.bing.com/", "", ""),
    (2, "https://duckduckgo.com/", "", ""),
    (8, None, "utm_source=newsletter&utm_medium=email&utm_campaign=weekly-digest", ""),
    (3, None, "utm_source=product-updates&utm_medium=email&utm_campaign=changelog", ""),
    (
        4,
        "https://www.facebook.com/",
        "utm_source=facebook&utm_medium=paid_social&utm_campaign=retargeting",
        "fbclid",
    ),
    (3, None, "utm_source=google&utm_medium=display&utm_campaign=remarketing", "gclid"),
    (3, "https://www.linkedin.com/", "", ""),
    (2, "https://t.co/", "", ""),
    (1, "https://www.reddit.com/r/analytics/", "", ""),
    (3, "https://github.com/clycyo/clycyo", "", ""),
)

# (weight, user agent)
DEVICES: tuple[tuple[int, str], ...] = (
    (
        30,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        18,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15",
    ),
    (
        10,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
    (8, "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"),
    (
        6,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    ),
    (
        16,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    ),
    (
        10,
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
    ),
    (
        2,
        "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Mobile/15E148 Safari/604.1",
    ),
)

# (weight, a public address in that country's allocations)
COUNTRIES: tuple[tuple[int, str], ...] = (
    (30, "8.8.{}.{}"),  # US
    (12, "85.214.{}.{}"),  # DE
    (8, "86.128.{}.{}"),  # GB
    (7, "90.84.{}.{}"),  # FR
    (5, "145.53.{}.{}"),  # NL
    (6, "177.134.{}.{}"),  # BR
    (6, "117.192.{}.{}"),  # IN
    (4, "126.0.{}.{}"),  # JP
    (4, "24.114.{}.{}"),  # CA
    (3, "80.58.{}.{}"),  # ES
)

PAGES = (
    "/",
    "/features",
    "/pricing",
    "/docs",
    "/docs/install",
    "/docs/api",
    "/blog/launch",
    "/blog/privacy",
    "/about",
)
PLANS = (("starter", "19.00"), ("team", "49.00"), ("business", "199.00"))
# The web vitals each engine reports (the tracker sends what the browser measures).
VITALS_BY_ENGINE = {
    "chromium": ("LCP", "INP", "CLS", "TTFB"),
    "firefox": ("LCP", "TTFB"),
    "webkit": ("TTFB",),
}
JS_ERRORS = (
    ("TypeError: Cannot read properties of undefined (reading 'price')", "/js/checkout.js", 212),
    ("ReferenceError: stripe is not defined", "/js/checkout.js", 18),
)
