"""The SDK's version, in one place: the package metadata and the User-Agent header both read it."""

VERSION = "0.1.0"
