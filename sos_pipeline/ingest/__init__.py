"""From a file in the inbox to typed, pseudonymised tables (exports.md)."""
