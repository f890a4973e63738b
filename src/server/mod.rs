//! The local Grantex server (feature `server`). Filled in by issue 4.
