//! Wiring of every adapter and the `usher` command line: empty until the server issue adds `usher serve`.
