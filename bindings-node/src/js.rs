//! Small raw Node-API helpers: building plain JS values and iotsec errors.
//!
//! The hot paths (completions, errors) build their JS values with raw Node-API calls: it is
//! short, it allocates nothing on the Rust side, and it keeps the shapes explicit.

use std::ffi::CStr;
use std::ptr;

use napi::sys;

/// A `napi_value` created in the current handle scope.
pub type Value = sys::napi_value;

/// Turns a Node-API status into a `Result` (the message names the call that failed).
pub fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(napi::Status::from(status), format!("Node-API call failed: {what}")))
    }
}

/// A JS string (UTF-8 input).
pub fn string(env: sys::napi_env, s: &str) -> napi::Result<Value> {
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut v) }, "create string")?;
    Ok(v)
}

/// A JS number.
pub fn number(env: sys::napi_env, n: f64) -> napi::Result<Value> {
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_create_double(env, n, &mut v) }, "create number")?;
    Ok(v)
}

/// A JS number from a u32 (ids).
pub fn uint(env: sys::napi_env, n: u32) -> napi::Result<Value> {
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_create_uint32(env, n, &mut v) }, "create number")?;
    Ok(v)
}

/// `undefined`.
pub fn undefined(env: sys::napi_env) -> napi::Result<Value> {
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_get_undefined(env, &mut v) }, "get undefined")?;
    Ok(v)
}

/// `null`.
pub fn null(env: sys::napi_env) -> napi::Result<Value> {
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_get_null(env, &mut v) }, "get null")?;
    Ok(v)
}

/// An empty plain object.
pub fn object(env: sys::napi_env) -> napi::Result<Value> {
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_create_object(env, &mut v) }, "create object")?;
    Ok(v)
}

/// An array of `len` holes, to be filled with [`set_index`].
pub fn array(env: sys::napi_env, len: usize) -> napi::Result<Value> {
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_create_array_with_length(env, len, &mut v) }, "create array")?;
    Ok(v)
}

/// `object[name] = value`.
pub fn set(env: sys::napi_env, object: Value, name: &CStr, value: Value) -> napi::Result<()> {
    check(unsafe { sys::napi_set_named_property(env, object, name.as_ptr(), value) }, "set property")
}

/// `array[index] = value`.
pub fn set_index(env: sys::napi_env, array: Value, index: usize, value: Value) -> napi::Result<()> {
    check(unsafe { sys::napi_set_element(env, array, index as u32, value) }, "set element")
}

/// A violation as `{ pointer, rule, message, position? }` (position: `{ offset, line, column }`).
pub fn violation(env: sys::napi_env, v: &iotsec::Violation) -> napi::Result<Value> {
    let o = object(env)?;
    set(env, o, c"pointer", string(env, &v.pointer)?)?;
    set(env, o, c"rule", string(env, &v.rule)?)?;
    set(env, o, c"message", string(env, &v.message)?)?;
    if let Some(p) = v.position {
        let pos = object(env)?;
        set(env, pos, c"offset", number(env, p.offset as f64)?)?;
        set(env, pos, c"line", number(env, p.line as f64)?)?;
        set(env, pos, c"column", number(env, p.column as f64)?)?;
        set(env, o, c"position", pos)?;
    }
    Ok(o)
}

/// An array of violations.
pub fn violations(env: sys::napi_env, list: &[iotsec::Violation]) -> napi::Result<Value> {
    let a = array(env, list.len())?;
    for (i, v) in list.iter().enumerate() {
        set_index(env, a, i, violation(env, v)?)?;
    }
    Ok(a)
}

/// A JS `Error` for an iotsec error: `message`, `code` (the stable `ErrorKind` name), and
/// `violations` (schema errors) or `connackCode` (refused credentials) when they apply. The
/// message comes from core, which never puts a key or signature in it.
pub fn error(env: sys::napi_env, e: &iotsec::Error) -> napi::Result<Value> {
    let code = string(env, e.kind().name())?;
    let message = string(env, e.message())?;
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_create_error(env, code, message, &mut v) }, "create error")?;
    if e.kind() == iotsec::ErrorKind::SchemaValidation {
        set(env, v, c"violations", violations(env, e.violations())?)?;
    }
    if let Some(c) = e.connack_code() {
        set(env, v, c"connackCode", number(env, f64::from(c))?)?;
    }
    Ok(v)
}

/// Throws `e` as a JS error and returns the marker napi-rs uses for "an exception is already
/// pending" (so it does not throw a second one).
pub fn throw(env: sys::napi_env, e: &iotsec::Error) -> napi::Error {
    match error(env, e) {
        Ok(v) => {
            unsafe { sys::napi_throw(env, v) };
            napi::Error::new(napi::Status::PendingException, String::new())
        }
        Err(fallback) => fallback,
    }
}

/// Reads a body argument: a string (its UTF-8 bytes) or any `Uint8Array` (`Buffer` included),
/// copied. `field` names the argument in the error.
pub fn bytes(env: sys::napi_env, value: Value, field: &str) -> Result<Vec<u8>, iotsec::Error> {
    let mut t = 0;
    unsafe { sys::napi_typeof(env, value, &mut t) };
    if t == sys::ValueType::napi_string {
        let mut len = 0usize;
        unsafe { sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len) };
        let mut buf: Vec<u8> = Vec::with_capacity(len + 1);
        let mut written = 0usize;
        unsafe {
            sys::napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast(), len + 1, &mut written);
            buf.set_len(written);
        }
        return Ok(buf);
    }
    let mut is_typed = false;
    unsafe { sys::napi_is_typedarray(env, value, &mut is_typed) };
    if is_typed {
        let mut kind = 0;
        let mut length = 0usize;
        let mut data = ptr::null_mut();
        let mut arraybuffer = ptr::null_mut();
        let mut offset = 0usize;
        let status = unsafe {
            sys::napi_get_typedarray_info(env, value, &mut kind, &mut length, &mut data, &mut arraybuffer, &mut offset)
        };
        if status == sys::Status::napi_ok && kind == sys::TypedarrayType::uint8_array {
            if length == 0 || data.is_null() {
                return Ok(Vec::new());
            }
            let slice = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), length) };
            return Ok(slice.to_vec());
        }
    }
    Err(iotsec::Error::invalid_argument(format!("{field} must be a string or a Buffer/Uint8Array")))
}

/// `array[index]`.
pub fn get_index(env: sys::napi_env, array: Value, index: u32) -> napi::Result<Value> {
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_get_element(env, array, index, &mut v) }, "get element")?;
    Ok(v)
}

/// The length of an array (0 for anything else).
pub fn array_len(env: sys::napi_env, array: Value) -> u32 {
    let mut len = 0;
    if unsafe { sys::napi_get_array_length(env, array, &mut len) } != sys::Status::napi_ok {
        return 0;
    }
    len
}

/// A number argument as u32, if it is one.
pub fn get_u32(env: sys::napi_env, value: Value) -> Option<u32> {
    let mut n = 0;
    (unsafe { sys::napi_get_value_uint32(env, value, &mut n) } == sys::Status::napi_ok).then_some(n)
}

/// A string argument, if it is one.
pub fn get_string(env: sys::napi_env, value: Value) -> Option<String> {
    let mut len = 0usize;
    if unsafe { sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len) } != sys::Status::napi_ok {
        return None;
    }
    let mut buf: Vec<u8> = Vec::with_capacity(len + 1);
    let mut written = 0usize;
    unsafe {
        sys::napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast(), len + 1, &mut written);
        buf.set_len(written);
    }
    // Node-API writes valid UTF-8 (lone surrogates become U+FFFD).
    String::from_utf8(buf).ok()
}
