//! lb-ctl
