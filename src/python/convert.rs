//! Rust results → instances of the Python dataclasses of `grantex._models`, built directly
//! (no JSON round trip, no `__init__` call): `object.__new__(cls)`, then the fields are
//! stored in the instance `__dict__`, in declaration order, exactly as the frozen
//! dataclass `__init__` would have stored them (it writes the same dict through
//! `object.__setattr__`). `==`, `repr`, `asdict`, `replace`, `copy` and `pickle` only ever
//! read that dict, so they cannot tell the difference.

use pyo3::{
    intern,
    prelude::*,
    sync::PyOnceLock,
    types::{PyBool, PyDict, PyFloat, PyList, PyString, PyTuple, PyType},
};
use serde_json::Value;

use crate::models::{Anomaly, DetectAnomaliesResponse, ListAnomaliesResponse, RateLimit};

/// The Python classes the bindings build, looked up once per process.
pub(super) struct Classes {
    pub anomaly: Py<PyType>,
    pub detect_response: Py<PyType>,
    pub list_response: Py<PyType>,
    pub rate_limit: Py<PyType>,
    /// `object.__new__`.
    object_new: Py<PyAny>,
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
            anomaly: class(&models, "Anomaly")?,
            detect_response: class(&models, "DetectAnomaliesResponse")?,
            list_response: class(&models, "ListAnomaliesResponse")?,
            rate_limit: class(&models, "RateLimit")?,
            object_new: py
                .import("builtins")?
                .getattr("object")?
                .getattr("__new__")?
                .unbind(),
            api_error: class(&errors, "GrantexApiError")?,
            auth_error: class(&errors, "GrantexAuthError")?,
            network_error: class(&errors, "GrantexNetworkError")?,
            timeout_error: class(&errors, "GrantexTimeoutError")?,
            decode_error: class(&errors, "GrantexDecodeError")?,
            closed_error: class(&errors, "GrantexClosedError")?,
        })
    })
}

/// A new, empty instance of `cls` and its `__dict__`.
fn new_instance<'py>(
    py: Python<'py>,
    classes: &Classes,
    cls: &Py<PyType>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    let instance = classes.object_new.bind(py).call1((cls.bind(py),))?;
    let dict = instance
        .getattr(intern!(py, "__dict__"))?
        .cast_into::<PyDict>()?;
    Ok((instance, dict))
}

pub(super) fn anomaly<'py>(
    py: Python<'py>,
    classes: &Classes,
    a: Anomaly,
) -> PyResult<Bound<'py, PyAny>> {
    let (instance, d) = new_instance(py, classes, &classes.anomaly)?;
    d.set_item(intern!(py, "id"), a.id)?;
    d.set_item(intern!(py, "type"), a.type_)?;
    d.set_item(intern!(py, "severity"), a.severity)?;
    d.set_item(intern!(py, "agent_id"), a.agent_id)?;
    d.set_item(intern!(py, "principal_id"), a.principal_id)?;
    d.set_item(intern!(py, "description"), a.description)?;
    d.set_item(intern!(py, "metadata"), json(py, &a.metadata)?)?;
    d.set_item(intern!(py, "detected_at"), a.detected_at)?;
    d.set_item(intern!(py, "acknowledged_at"), a.acknowledged_at)?;
    Ok(instance)
}

fn anomalies<'py>(
    py: Python<'py>,
    classes: &Classes,
    list: Vec<Anomaly>,
) -> PyResult<Bound<'py, PyTuple>> {
    let items = list
        .into_iter()
        .map(|a| anomaly(py, classes, a))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, items)
}

pub(super) fn detect_response(
    py: Python<'_>,
    r: DetectAnomaliesResponse,
) -> PyResult<Bound<'_, PyAny>> {
    let classes = classes(py)?;
    let (instance, d) = new_instance(py, classes, &classes.detect_response)?;
    d.set_item(intern!(py, "detected_at"), r.detected_at)?;
    d.set_item(intern!(py, "total"), r.total)?;
    d.set_item(
        intern!(py, "anomalies"),
        anomalies(py, classes, r.anomalies)?,
    )?;
    Ok(instance)
}

pub(super) fn list_response(
    py: Python<'_>,
    r: ListAnomaliesResponse,
) -> PyResult<Bound<'_, PyAny>> {
    let classes = classes(py)?;
    let (instance, d) = new_instance(py, classes, &classes.list_response)?;
    d.set_item(
        intern!(py, "anomalies"),
        anomalies(py, classes, r.anomalies)?,
    )?;
    d.set_item(intern!(py, "total"), r.total)?;
    Ok(instance)
}

/// A `RateLimit`, or None.
pub(super) fn rate_limit(py: Python<'_>, r: Option<RateLimit>) -> PyResult<Bound<'_, PyAny>> {
    let Some(r) = r else {
        return Ok(py.None().into_bound(py));
    };
    let classes = classes(py)?;
    let (instance, d) = new_instance(py, classes, &classes.rate_limit)?;
    d.set_item(intern!(py, "limit"), r.limit)?;
    d.set_item(intern!(py, "remaining"), r.remaining)?;
    d.set_item(intern!(py, "reset"), r.reset)?;
    d.set_item(intern!(py, "retry_after"), r.retry_after)?;
    Ok(instance)
}

/// A JSON value as the `json` module would decode it: dict, list, str, int, float, bool,
/// None.
pub(super) fn json<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
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
                list.append(json(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(PyString::new(py, key), json(py, item)?)?;
            }
            dict.into_any()
        }
    })
}
