//! What every entry point shares: panic catching, the thread-local last error, handle
//! registries and C string conversions.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use iotsec_core::{Error, ErrorKind};

/// The last error of the calling thread: kind code, text and (for schema errors) violations.
#[derive(Default)]
struct LastError {
    kind: u32,
    message: Option<CString>,
    violations: Option<CString>,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError::default());
}

/// Forgets the calling thread's last error (every fallible entry point starts with this).
pub(crate) fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            if e.kind != 0 || e.message.is_some() {
                *e = LastError::default();
            }
        }
    });
}

/// Records `error` as the calling thread's last error.
pub(crate) fn set_last_error(error: &Error) {
    let violations = if error.violations().is_empty() {
        None
    } else {
        serde_json::to_string(error.violations()).ok().map(c_string)
    };
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            *e = LastError { kind: error.kind().code(), message: Some(c_string(error.message().to_string())), violations };
        }
    });
}

/// The calling thread's last error kind code (0: none).
pub(crate) fn last_error_kind() -> u32 {
    LAST_ERROR.try_with(|e| e.try_borrow().map(|e| e.kind).unwrap_or(0)).unwrap_or(0)
}

/// The calling thread's last error text; valid until the next iotsec call on this thread.
pub(crate) fn last_error_message() -> *const c_char {
    LAST_ERROR
        .try_with(|e| e.try_borrow().ok().and_then(|e| e.message.as_ref().map(|m| m.as_ptr())).unwrap_or(std::ptr::null()))
        .unwrap_or(std::ptr::null())
}

/// The calling thread's last schema violations as JSON; `"[]"` when there are none.
pub(crate) fn last_error_violations() -> *const c_char {
    static EMPTY: &CStr = c"[]";
    LAST_ERROR
        .try_with(|e| e.try_borrow().ok().and_then(|e| e.violations.as_ref().map(|m| m.as_ptr())).unwrap_or(EMPTY.as_ptr()))
        .unwrap_or(EMPTY.as_ptr())
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Runs the body of entry point `name`: clears the last error, and turns a panic into an
/// [`ErrorKind::Internal`] last error and the `on_panic` return value. No panic crosses the
/// C boundary.
pub(crate) fn guard<R>(name: &str, on_panic: R, body: impl FnOnce() -> R) -> R {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(payload) => {
            set_last_error(&Error::new(
                ErrorKind::Internal,
                format!("iotsec bug: {name} panicked ({}); please report it", panic_text(payload.as_ref())),
            ));
            on_panic
        }
    }
}

/// Runs `body`, catching a panic (for code that runs on iotsec threads, e.g. callbacks).
pub(crate) fn catch(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// An [`ErrorKind::InvalidArgument`] error for `argument` of `function`.
pub(crate) fn invalid(function: &str, argument: &str, why: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{function}: `{argument}` {why}"))
}

/// A NUL-terminated copy of `s`; an interior NUL (never produced by iotsec) ends the text.
pub(crate) fn c_string(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let end = e.nul_position();
        let mut bytes = e.into_vec();
        bytes.truncate(end);
        CString::new(bytes).unwrap_or_default()
    })
}

/// `s` as a C string the caller owns (free with `iotsec_string_free`).
pub(crate) fn owned_c_string(s: String) -> *mut c_char {
    c_string(s).into_raw()
}

/// Reads a required UTF-8 argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn arg_str<'a>(function: &str, argument: &str, ptr: *const c_char) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(invalid(function, argument, "is NULL"));
    }
    // SAFETY: the caller promises a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|_| invalid(function, argument, "is not UTF-8"))
}

/// Reads an optional UTF-8 argument (NULL gives `None`).
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_opt_str<'a>(function: &str, argument: &str, ptr: *const c_char) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded.
        unsafe { arg_str(function, argument, ptr) }.map(Some)
    }
}

/// Reads a byte-array argument; NULL is allowed only with `len == 0`.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn arg_bytes<'a>(function: &str, argument: &str, ptr: *const u8, len: usize) -> Result<&'a [u8], Error> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(invalid(function, argument, &format!("is NULL but the size is {len}")));
    }
    if len > isize::MAX as usize {
        return Err(invalid(function, argument, "has an impossible size"));
    }
    // SAFETY: the caller promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Handles are not pointers: each is a number naming a live object in a registry, so a NULL,
/// stale (destroyed), foreign or mistyped handle is refused with an error instead of being
/// dereferenced. The numbers look like aligned addresses and never repeat within a process.
static NEXT_HANDLE: AtomicUsize = AtomicUsize::new(1);

const HANDLE_BASE: usize = if usize::BITS >= 64 { 0x10ec_0000_0000 } else { 0x1ec0_0000 };

fn next_handle() -> usize {
    let n = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    HANDLE_BASE.wrapping_add(n.wrapping_mul(16))
}

/// Live objects of one type, by handle number.
pub(crate) struct Registry<T> {
    live: Mutex<Option<HashMap<usize, Arc<T>>>>,
}

impl<T> Registry<T> {
    pub(crate) const fn new() -> Self {
        Registry { live: Mutex::new(None) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<usize, Arc<T>>) -> R) -> R {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        f(live.get_or_insert_with(HashMap::new))
    }

    /// Registers `value` and returns its new handle number.
    pub(crate) fn insert(&self, value: Arc<T>) -> usize {
        self.insert_with(|_| value)
    }

    /// Registers the object `make` builds from its handle number; returns that number.
    pub(crate) fn insert_with(&self, make: impl FnOnce(usize) -> Arc<T>) -> usize {
        let id = next_handle();
        let value = make(id);
        self.with(|m| m.insert(id, value));
        id
    }

    /// The object behind handle `id`, if it is live.
    pub(crate) fn get(&self, id: usize) -> Option<Arc<T>> {
        if id == 0 {
            return None;
        }
        self.with(|m| m.get(&id).cloned())
    }

    /// Unregisters handle `id`, returning its object if it was live. The table itself is freed
    /// when its last handle goes, so a program that destroyed everything holds no iotsec memory
    /// for handles (leak checkers see nothing).
    pub(crate) fn remove(&self, id: usize) -> Option<Arc<T>> {
        if id == 0 {
            return None;
        }
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let map = live.as_mut()?;
        let removed = map.remove(&id);
        if map.is_empty() {
            *live = None;
        }
        removed
    }

    /// Every live object.
    pub(crate) fn all(&self) -> Vec<Arc<T>> {
        self.with(|m| m.values().cloned().collect())
    }
}

/// A handle pointer's number.
pub(crate) fn handle_id<T>(handle: *mut T) -> usize {
    handle.addr()
}

/// The handle pointer for number `id` (never dereferenced).
pub(crate) fn handle_ptr<T>(id: usize) -> *mut T {
    std::ptr::without_provenance_mut(id)
}

/// Whether the calling thread is one of the shared runtime's (a callback is running on it).
pub(crate) fn on_runtime_thread() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

/// The error for a blocking call made on an iotsec thread, where it would deadlock.
pub(crate) fn blocking_on_runtime_thread(function: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("{function} blocks, and cannot be called on an iotsec thread (inside a callback); use the asynchronous send there"),
    )
}
