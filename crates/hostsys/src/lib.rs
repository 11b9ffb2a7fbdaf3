//! hostsys
