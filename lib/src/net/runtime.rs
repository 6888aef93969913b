//! The async runtime network plugins run on.

use std::future::Future;

use crate::error::CheckError;

/// Runs `fut` to completion on a current-thread runtime (no worker threads:
/// a plugin does one thing at a time and every thread costs start-up).
pub fn block_on<F: Future>(fut: F) -> Result<F::Output, CheckError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| CheckError::unknown(format!("cannot start the I/O runtime: {e}")))?;
    Ok(runtime.block_on(fut))
}
