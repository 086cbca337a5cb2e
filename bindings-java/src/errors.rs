//! Errors at the boundary: core errors and JNI failures become Java exceptions, panics too.

use std::any::Any;
use std::fmt;

use iotsec::{Error, ErrorKind};
use jni::objects::{JObject, JThrowable, JValue};
use jni::{jni_sig, jni_str, Env};

use crate::{flatten_violations, new_string_array};

/// What an entry point can fail with.
pub(crate) enum BindError {
    /// A core error: thrown as `IotSecException`, `IotSecArgumentException` or `SchemaValidationException`.
    Core(Error),
    /// A JNI failure (usually a Java exception already pending, which then propagates as is).
    Jni(jni::errors::Error),
}

pub(crate) type BindResult<T> = Result<T, BindError>;

impl From<Error> for BindError {
    fn from(e: Error) -> Self {
        BindError::Core(e)
    }
}

impl From<jni::errors::Error> for BindError {
    fn from(e: jni::errors::Error) -> Self {
        BindError::Jni(e)
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::Core(e) => write!(f, "{} ({})", e.message(), e.kind()),
            BindError::Jni(e) => write!(f, "JNI: {e}"),
        }
    }
}

impl fmt::Debug for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for BindError {}

/// Throws `error` as `NativeBridge.exception(code, message, violations)` builds it; falls
/// back to a plain `RuntimeException` if even that fails.
pub(crate) fn throw_core(env: &mut Env<'_>, error: &Error) {
    if env.exception_check() {
        return;
    }
    let built = (|| -> jni::errors::Result<()> {
        let class = env.find_class(jni_str!("io/iotsec/device/NativeBridge"))?;
        let message = env.new_string(error.message())?;
        let flat = new_string_array(env, &flatten_violations(error.violations())).map_err(|e| match e {
            BindError::Jni(j) => j,
            BindError::Core(_) => jni::errors::Error::JniCall(jni::errors::JniError::Unknown),
        })?;
        let flat_obj: &JObject<'_> = &flat;
        let obj = env
            .call_static_method(
                &class,
                jni_str!("exception"),
                jni_sig!("(ILjava/lang/String;[Ljava/lang/String;)Ljava/lang/RuntimeException;"),
                &[JValue::Int(error.kind().code() as i32), JValue::Object(&message), JValue::Object(flat_obj)],
            )?
            .l()?;
        let throwable = env.cast_local::<JThrowable<'_>>(obj)?;
        let _ = env.throw(throwable);
        Ok(())
    })();
    if built.is_err() || !env.exception_check() {
        if env.exception_check() {
            return;
        }
        let text = format!("iotsec {}: {}", error.kind().name(), error.message());
        let _ = env.throw_new(jni_str!("java/lang/RuntimeException"), jni::strings::JNIString::from(text));
    }
}

/// The error policy of every entry point.
pub(crate) struct Throw;

impl<T: Default> jni::errors::ErrorPolicy<T, BindError> for Throw {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut Self::Captures<'unowned_env_local, 'native_method>,
        err: BindError,
    ) -> jni::errors::Result<T> {
        if env.exception_check() {
            // A Java exception (thrown by a JNI call) is on its way: let it propagate.
            return Ok(T::default());
        }
        match err {
            BindError::Core(e) => throw_core(env, &e),
            BindError::Jni(e) => throw_core(env, &Error::new(ErrorKind::Internal, format!("JNI call failed: {e}"))),
        }
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut Self::Captures<'unowned_env_local, 'native_method>,
        payload: Box<dyn Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        let what = panic_text(&payload);
        // Dropping a payload can itself panic; leak it rather than unwind here.
        std::mem::forget(payload);
        if env.exception_check() {
            env.exception_clear();
        }
        throw_core(env, &Error::new(ErrorKind::Internal, format!("iotsec bug (a panic was caught, please report it): {what}")));
        Ok(T::default())
    }
}

pub(crate) fn panic_text(payload: &Box<dyn Any + Send + 'static>) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-text panic payload".to_string()
    }
}
