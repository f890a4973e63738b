//! Rust results → instances of the Python dataclasses of `grantex._models`, built directly
//! (no JSON round trip, no `__init__` call): `cls.__new__(cls)`, then each field is stored
//! with `object.__setattr__`, in declaration order, exactly as the frozen dataclass
//! `__init__` stores them. The instances are the same, down to their attribute storage, so
//! `==`, `repr`, `asdict`, `replace`, `copy` and `pickle` cannot tell them apart.

use pyo3::{
    exceptions::PyTypeError,
    ffi, intern,
    prelude::*,
    sync::PyOnceLock,
    types::{PyBool, PyDict, PyFloat, PyList, PyString, PyTuple, PyType},
    IntoPyObjectExt,
};
use serde_json::Value;
use std::{
    collections::HashMap,
    fmt,
    hash::{BuildHasherDefault, Hasher},
};

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use grantex::{Anomaly, DetectAnomaliesResponse, ListAnomaliesResponse, RateLimit};

/// A dataclass and its `tp_new` slot (`object.__new__`, inherited).
pub(super) struct Class {
    ty: Py<PyType>,
    new: ffi::newfunc,
}

impl Class {
    fn get(module: &Bound<'_, PyModule>, name: &str) -> PyResult<Class> {
        let ty = module.getattr(name)?.cast_into::<PyType>()?;
        // SAFETY: `ty` is a live type object; heap types (every class defined in Python)
        // can be asked for their slots under the stable ABI.
        let slot = unsafe { ffi::PyType_GetSlot(ty.as_type_ptr(), ffi::Py_tp_new) };
        if slot.is_null() {
            return Err(PyTypeError::new_err(format!(
                "{name} cannot be instantiated"
            )));
        }
        // SAFETY: the `Py_tp_new` slot holds a `newfunc`.
        let new = unsafe { std::mem::transmute::<*mut std::ffi::c_void, ffi::newfunc>(slot) };
        Ok(Class {
            ty: ty.unbind(),
            new,
        })
    }

    /// `cls.__new__(cls)`, without `__init__`: an instance with no attributes yet.
    fn instantiate<'py>(&self, py: Python<'py>) -> PyResult<Instance<'py>> {
        let args = PyTuple::empty(py);
        // SAFETY: calling the type's own `tp_new` with the type, an empty argument tuple and
        // no keywords is what `cls.__new__(cls)` does; the result is a new reference or NULL
        // with an exception set.
        unsafe {
            let raw = (self.new)(self.ty.as_ptr().cast(), args.as_ptr(), std::ptr::null_mut());
            Bound::from_owned_ptr_or_err(py, raw).map(Instance)
        }
    }
}

/// An instance being filled in.
struct Instance<'py>(Bound<'py, PyAny>);

impl<'py> Instance<'py> {
    /// `object.__setattr__(instance, name, value)`: exactly how the frozen dataclass
    /// `__init__` stores each field (bypassing the class's `__setattr__`, which refuses).
    fn set<V: IntoPyObject<'py>>(&self, name: &Bound<'py, PyString>, value: V) -> PyResult<()> {
        let value = value.into_bound_py_any(self.0.py())?;
        // SAFETY: three live objects; returns 0, or -1 with an exception set.
        let status =
            unsafe { ffi::PyObject_GenericSetAttr(self.0.as_ptr(), name.as_ptr(), value.as_ptr()) };
        if status == 0 {
            Ok(())
        } else {
            Err(PyErr::fetch(self.0.py()))
        }
    }

    fn finish(self) -> Bound<'py, PyAny> {
        self.0
    }
}

/// The Python classes the bindings build, looked up once per process.
pub(super) struct Classes {
    anomaly: Class,
    detect_response: Class,
    list_response: Class,
    rate_limit: Class,
    pub api_error: Py<PyType>,
    pub auth_error: Py<PyType>,
    pub network_error: Py<PyType>,
    pub timeout_error: Py<PyType>,
    pub decode_error: Py<PyType>,
    pub closed_error: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

pub(super) fn classes(py: Python<'_>) -> PyResult<&'static Classes> {
    CLASSES.get_or_try_init(py, || {
        let models = py.import("grantex._models")?;
        let errors = py.import("grantex._errors")?;
        let class = |module: &Bound<'_, PyModule>, name: &str| -> PyResult<Py<PyType>> {
            Ok(module.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok::<_, PyErr>(Classes {
            anomaly: Class::get(&models, "Anomaly")?,
            detect_response: Class::get(&models, "DetectAnomaliesResponse")?,
            list_response: Class::get(&models, "ListAnomaliesResponse")?,
            rate_limit: Class::get(&models, "RateLimit")?,
            api_error: class(&errors, "GrantexApiError")?,
            auth_error: class(&errors, "GrantexAuthError")?,
            network_error: class(&errors, "GrantexNetworkError")?,
            timeout_error: class(&errors, "GrantexTimeoutError")?,
            decode_error: class(&errors, "GrantexDecodeError")?,
            closed_error: class(&errors, "GrantexClosedError")?,
        })
    })
}

/// Python strings for the values that repeat across the anomalies of one response: `type`,
/// `severity`, agent and principal ids, timestamps (one detect run stamps all its anomalies
/// alike) and metadata keys. Each distinct value becomes one shared `str` (immutable, so
/// sharing is invisible): fewer objects to create now and to free later. Values that are
/// unique per anomaly (ids, descriptions) bypass the cache.
struct Strings<'a, 'py> {
    py: Python<'py>,
    shared: HashMap<&'a str, Bound<'py, PyString>, BuildHasherDefault<FxHasher>>,
}

impl<'a, 'py> Strings<'a, 'py> {
    /// Enough for every repeating value of a large page; past it, strings are just created.
    const MAX_SHARED: usize = 4096;

    fn new(py: Python<'py>) -> Self {
        Strings {
            py,
            shared: HashMap::default(),
        }
    }

    /// A string likely to repeat within the response.
    fn shared(&mut self, text: &'a str) -> Bound<'py, PyString> {
        if let Some(s) = self.shared.get(text) {
            return s.clone();
        }
        let s = PyString::new(self.py, text);
        if self.shared.len() < Self::MAX_SHARED {
            self.shared.insert(text, s.clone());
        }
        s
    }

    /// A string unique to one anomaly.
    fn unique(&self, text: &str) -> Bound<'py, PyString> {
        PyString::new(self.py, text)
    }
}

/// The fields of one anomaly, borrowed from whichever decoded form holds them: a
/// [`crate::Anomaly`] (acknowledge) or a span of a page (detect, list).
struct Fields<'a> {
    id: &'a str,
    type_: &'a str,
    severity: &'a str,
    agent_id: Option<&'a str>,
    principal_id: Option<&'a str>,
    description: &'a str,
    metadata: MetadataRef<'a>,
    detected_at: &'a str,
    acknowledged_at: Option<&'a str>,
}

/// `metadata` before it becomes a `dict`.
enum MetadataRef<'a> {
    /// Already normalised ([`crate::normalize_metadata`]), or an object as sent.
    Json(&'a Value),
    /// Absent or `null`: an empty dict.
    Absent,
    /// A string: the object it holds, else the string itself.
    Text(&'a str),
}

impl<'a> From<&'a Anomaly> for Fields<'a> {
    fn from(a: &'a Anomaly) -> Self {
        Fields {
            id: &a.id,
            type_: &a.type_,
            severity: &a.severity,
            agent_id: a.agent_id.as_deref(),
            principal_id: a.principal_id.as_deref(),
            description: &a.description,
            metadata: MetadataRef::Json(&a.metadata),
            detected_at: &a.detected_at,
            acknowledged_at: a.acknowledged_at.as_deref(),
        }
    }
}

pub(super) fn anomaly<'py>(
    py: Python<'py>,
    classes: &Classes,
    a: &Anomaly,
) -> PyResult<Bound<'py, PyAny>> {
    anomaly_with(classes, &mut Strings::new(py), a.into())
}

fn anomaly_with<'a, 'py>(
    classes: &Classes,
    strings: &mut Strings<'a, 'py>,
    a: Fields<'a>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = strings.py;
    let d = classes.anomaly.instantiate(py)?;
    d.set(intern!(py, "id"), strings.unique(a.id))?;
    d.set(intern!(py, "type"), strings.shared(a.type_))?;
    d.set(intern!(py, "severity"), strings.shared(a.severity))?;
    d.set(
        intern!(py, "agent_id"),
        a.agent_id.map(|t| strings.shared(t)),
    )?;
    d.set(
        intern!(py, "principal_id"),
        a.principal_id.map(|t| strings.shared(t)),
    )?;
    d.set(intern!(py, "description"), strings.unique(a.description))?;
    d.set(intern!(py, "metadata"), metadata(strings, a.metadata)?)?;
    d.set(intern!(py, "detected_at"), strings.shared(a.detected_at))?;
    d.set(
        intern!(py, "acknowledged_at"),
        a.acknowledged_at.map(|t| strings.shared(t)),
    )?;
    Ok(d.finish())
}

/// `metadata` as the documentation promises it, normalised as [`crate::normalize_metadata`]
/// does: a string holding a JSON object becomes that dict, absent becomes `{}`, anything
/// else is kept as sent.
fn metadata<'a, 'py>(
    strings: &mut Strings<'a, 'py>,
    metadata: MetadataRef<'a>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match metadata {
        MetadataRef::Json(value) => json_with(strings, value)?,
        MetadataRef::Absent => PyDict::new(strings.py).into_any(),
        MetadataRef::Text(text) => match json_text_object(strings, text) {
            Some(object) => object,
            None => strings.unique(text).into_any(),
        },
    })
}

/// The dict a JSON text holds, decoded straight into Python objects; `None` when the text
/// is not a JSON object.
fn json_text_object<'a, 'py>(
    strings: &mut Strings<'a, 'py>,
    text: &'a str,
) -> Option<Bound<'py, PyAny>> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let object = PyJson(strings).deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    Some(object)
}

/// Builds the Python objects of a JSON text as it is parsed: `json.loads`, without the
/// detour through `serde_json::Value`.
struct PyJson<'s, 'a, 'py>(&'s mut Strings<'a, 'py>);

/// A dict key: keys repeat from one anomaly to the next, so they are shared.
struct PyJsonKey<'s, 'a, 'py>(&'s mut Strings<'a, 'py>);

fn py_error<E: serde::de::Error>(error: PyErr) -> E {
    E::custom(error)
}

impl<'a, 'py> DeserializeSeed<'a> for PyJson<'_, 'a, 'py> {
    type Value = Bound<'py, PyAny>;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'a, 'py> Visitor<'a> for PyJson<'_, 'a, 'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.0.py, v).to_owned().into_any())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        v.into_bound_py_any(self.0.py).map_err(py_error)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        v.into_bound_py_any(self.0.py).map_err(py_error)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(PyFloat::new(self.0.py, v).into_any())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.unique(v).into_any())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.0.py.None().into_bound(self.0.py))
    }

    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.0.py);
        while let Some(item) = seq.next_element_seed(PyJson(&mut *self.0))? {
            list.append(item).map_err(py_error)?;
        }
        Ok(list.into_any())
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.0.py);
        while let Some(key) = map.next_key_seed(PyJsonKey(&mut *self.0))? {
            let value = map.next_value_seed(PyJson(&mut *self.0))?;
            dict.set_item(key, value).map_err(py_error)?;
        }
        Ok(dict.into_any())
    }
}

impl<'a, 'py> DeserializeSeed<'a> for PyJsonKey<'_, 'a, 'py> {
    type Value = Bound<'py, PyString>;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'a, 'py> Visitor<'a> for PyJsonKey<'_, 'a, 'py> {
    type Value = Bound<'py, PyString>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'a str) -> Result<Self::Value, E> {
        Ok(self.0.shared(v))
    }

    // A key with escapes lives in the parser's scratch space: not shareable.
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.unique(v))
    }
}

/// The anomalies of a response as a tuple, with the garbage collector paused when there
/// are many.
fn anomalies<'py>(
    py: Python<'py>,
    classes: &Classes,
    anomalies: &[Anomaly],
) -> PyResult<Bound<'py, PyTuple>> {
    let _paused = (anomalies.len() >= GcPause::WORTH_IT)
        .then(|| GcPause::new(py))
        .transpose()?;
    let mut strings = Strings::new(py);
    let items = anomalies
        .iter()
        .map(|a| anomaly_with(classes, &mut strings, a.into()))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, items)
}

pub(super) fn detect<'py>(
    py: Python<'py>,
    r: &DetectAnomaliesResponse,
) -> PyResult<Bound<'py, PyAny>> {
    let classes = classes(py)?;
    let d = classes.detect_response.instantiate(py)?;
    d.set(intern!(py, "detected_at"), PyString::new(py, &r.detected_at))?;
    d.set(intern!(py, "total"), r.total)?;
    d.set(intern!(py, "anomalies"), anomalies(py, classes, &r.anomalies)?)?;
    Ok(d.finish())
}

pub(super) fn list<'py>(py: Python<'py>, r: &ListAnomaliesResponse) -> PyResult<Bound<'py, PyAny>> {
    let classes = classes(py)?;
    let d = classes.list_response.instantiate(py)?;
    d.set(intern!(py, "anomalies"), anomalies(py, classes, &r.anomalies)?)?;
    d.set(intern!(py, "total"), r.total)?;
    Ok(d.finish())
}

/// A `RateLimit`, or None.
pub(super) fn rate_limit(py: Python<'_>, r: Option<RateLimit>) -> PyResult<Bound<'_, PyAny>> {
    let Some(r) = r else {
        return Ok(py.None().into_bound(py));
    };
    let classes = classes(py)?;
    let d = classes.rate_limit.instantiate(py)?;
    d.set(intern!(py, "limit"), r.limit)?;
    d.set(intern!(py, "remaining"), r.remaining)?;
    d.set(intern!(py, "reset"), r.reset)?;
    d.set(intern!(py, "retry_after"), r.retry_after)?;
    Ok(d.finish())
}

/// A JSON value as the `json` module would decode it: dict, list, str, int, float, bool,
/// None.
pub(super) fn json<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    json_with(&mut Strings::new(py), value)
}

fn json_with<'a, 'py>(
    strings: &mut Strings<'a, 'py>,
    value: &'a Value,
) -> PyResult<Bound<'py, PyAny>> {
    let py = strings.py;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_with(strings, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(strings.shared(key), json_with(strings, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Python's cyclic garbage collector, paused while a large result is built: every object
/// created is alive and acyclic until the result is returned, so the collections that the
/// allocations would trigger (one per 700 containers) could only walk them in vain.
/// Resumed on drop, also on error, and only if it was running before.
struct GcPause<'py> {
    enable: Option<Bound<'py, PyAny>>,
}

impl<'py> GcPause<'py> {
    /// Below this many anomalies a pause saves less than it costs.
    const WORTH_IT: usize = 256;

    fn new(py: Python<'py>) -> PyResult<Self> {
        let gc = py.import(intern!(py, "gc"))?;
        if !gc.call_method0(intern!(py, "isenabled"))?.is_truthy()? {
            return Ok(GcPause { enable: None });
        }
        gc.call_method0(intern!(py, "disable"))?;
        Ok(GcPause {
            enable: Some(gc.getattr(intern!(py, "enable"))?),
        })
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if let Some(enable) = self.enable.take() {
            // Re-enabling cannot fail in practice; if it did, leaving the error pending would
            // surface it at an unrelated place, so it is reported as unraisable instead.
            if let Err(e) = enable.call0() {
                e.write_unraisable(enable.py(), None);
            }
        }
    }
}

/// The Fx hash (rustc's): the cache's keys are short strings from one response, not chosen
/// by an attacker who could make them collide on purpose, and SipHash cost more than the
/// strings it saved.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
