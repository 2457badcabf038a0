// Pure rule: an error's text cut to its first 1,000 characters, never between the halves of one.

// Cutting at 1,000 UTF-16 units could keep half an emoji: a lone surrogate, which JSON.stringify
// writes as an escape (`\ud83d`) that strict JSON parsers refuse, and the whole batch with it.
// With the `u` flag `[^]` is one whole character (code point), so a pair is kept or left whole.
export const cut = (text) => text && ('' + text).match(/[^]{0,1000}/u)[0]
