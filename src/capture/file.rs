//! Opening capture files.
