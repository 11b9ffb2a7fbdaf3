//! memfile
