//! Rust values → Python objects, generically: any `Serialize` model of the `grantex` crate
//! becomes an instance of the frozen dataclass of the same name in `grantex._models`, so a
//! new response type needs a Rust struct and a dataclass, and no converter.
//!
//! The mapping:
//! - a struct → `cls.__new__(cls)`, then each field stored with `object.__setattr__` in
//!   declaration order, exactly as the frozen dataclass `__init__` stores them (so `==`,
//!   `repr`, `asdict`, `replace`, `copy` and `pickle` cannot tell the instances apart); the
//!   attribute is the snake_case form of the serialized (camelCase, wire) field name;
//! - a sequence → a tuple (collections in results are tuples), the garbage collector paused
//!   while a long one is built;
//! - JSON text kept as serde_json's `RawValue` (an anomaly's `metadata`) → parsed straight
//!   into Python objects by jiter, with `json.loads` semantics and jiter's string cache;
//! - strings → `str`; a field whose values repeat across a response (types, severities,
//!   agent ids, timestamps) gets one shared object per distinct value, while a field whose
//!   values do not (ids, descriptions) stops being looked up after a few values: fewer
//!   objects to create and free, without paying for a cache that never hits. `None` →
//!   `None`; numbers and booleans as themselves.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    fmt,
};

use jiter::{FloatMode, PartialMode, PythonParse, StringCacheMode};
use pyo3::{
    exceptions::{PyTypeError, PyValueError},
    ffi, intern,
    prelude::*,
    sync::PyOnceLock,
    types::{PyBool, PyBytes, PyDict, PyFloat, PyString, PyTuple, PyType},
    IntoPyObjectExt,
};
use serde::ser::{self, Serialize};

/// The name serde_json's `RawValue` serializes under (`serde_json::raw::TOKEN`).
const RAW_JSON: &str = "$serde_json::private::RawValue";

/// Below this many elements, pausing the garbage collector costs more than it saves.
const GC_PAUSE_FROM: usize = 256;

/// `value` as Python objects (see the module documentation).
pub(crate) fn to_python<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let context = Context {
        py,
        classes: RefCell::new(Vec::new()),
        current_field: Cell::new(None),
        strings: RefCell::new(HashMap::default()),
    };
    value
        .serialize(ToPython(&context))
        .map_err(|ConvertError(e)| e)
}

/// JSON text as `json.loads` would decode it: by jiter, or, for what jiter refuses and
/// `json.loads` takes (a lone surrogate escape, kept by `grantex::JsonObject`), by
/// `json.loads` itself.
pub(crate) fn json_to_python<'py>(py: Python<'py>, json: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    parse_json(py, json).or_else(|jiter_error| {
        let text = std::str::from_utf8(json).map_err(|_| jiter_error.clone_ref(py))?;
        py.import(intern!(py, "json"))?
            .call_method1(intern!(py, "loads"), (text,))
            .map_err(|_| jiter_error)
    })
}

fn parse_json<'py>(py: Python<'py>, json: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    PythonParse {
        // `json.loads` accepts NaN and Infinity.
        allow_inf_nan: true,
        // Metadata keys repeat from one anomaly to the next; values mostly do not.
        cache_mode: StringCacheMode::Keys,
        partial_mode: PartialMode::Off,
        // Last one wins, as in `json.loads`.
        catch_duplicate_keys: false,
        float_mode: FloatMode::Float,
    }
    .python_parse(py, json)
    .map_err(|e| jiter::map_json_error(json, &e))
}

/// The first byte of U+FDD0 and U+FDD1 in UTF-8 (EF B7 90, EF B7 91).
const MARKER_LEAD: u8 = 0xEF;

/// Whether a string holds the markers of a body that `grantex` made strict: a lone
/// surrogate (U+FFFD U+FDD0 X) or a bare `NaN`/`Infinity` token (U+FFFD U+FDD1 token).
/// U+FDD0 and U+FDD1 are noncharacters, never in interchanged text.
fn has_markers(text: &str) -> bool {
    memchr::memchr(MARKER_LEAD, text.as_bytes()).is_some()
        && text.contains(['\u{FDD0}', '\u{FDD1}'])
}

/// What the server sent where the markers are: `float('nan')` and the infinities for a
/// token, and a `str` holding the lone surrogates as `json.loads` keeps them.
fn unmark<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    if let Some(token) = text.strip_prefix("\u{FFFD}\u{FDD1}") {
        let number = match token {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        };
        if let Some(number) = number {
            return Ok(PyFloat::new(py, number).into_any());
        }
    }
    let mut units: Vec<u8> = Vec::with_capacity(text.len() * 2);
    let mut chars = text.chars().peekable();
    let mut buffer = [0u16; 2];
    while let Some(c) = chars.next() {
        if c == '\u{FFFD}' && chars.peek() == Some(&'\u{FDD0}') {
            let mut ahead = chars.clone();
            ahead.next();
            if let Some(code) = ahead.next().map(u32::from) {
                if (0xF0000..=0xF07FF).contains(&code) {
                    let unit = (0xD800 + (code - 0xF0000)) as u16;
                    units.extend_from_slice(&unit.to_le_bytes());
                    chars = ahead;
                    continue;
                }
            }
        }
        for unit in c.encode_utf16(&mut buffer) {
            units.extend_from_slice(&unit.to_le_bytes());
        }
    }
    PyBytes::new(py, &units).call_method1(
        intern!(py, "decode"),
        (intern!(py, "utf-16-le"), intern!(py, "surrogatepass")),
    )
}

/// A dataclass and its `tp_new` slot (`object.__new__`, inherited).
struct Class {
    ty: Py<PyType>,
    new: ffi::newfunc,
}

impl Class {
    fn of(ty: Bound<'_, PyType>) -> PyResult<Class> {
        // SAFETY: `ty` is a live type object; heap types (every class defined in Python)
        // can be asked for their slots under the stable ABI.
        let slot = unsafe { ffi::PyType_GetSlot(ty.as_type_ptr(), ffi::Py_tp_new) };
        if slot.is_null() {
            return Err(PyTypeError::new_err(format!(
                "{} cannot be instantiated",
                ty.name()?
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
    fn instantiate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let args = PyTuple::empty(py);
        // SAFETY: calling the type's own `tp_new` with the type, an empty argument tuple and
        // no keywords is what `cls.__new__(cls)` does; the result is a new reference or NULL
        // with an exception set.
        unsafe {
            let raw = (self.new)(self.ty.as_ptr().cast(), args.as_ptr(), std::ptr::null_mut());
            Bound::from_owned_ptr_or_err(py, raw)
        }
    }
}

/// The dataclasses of `grantex._models`, by name, looked up once per process.
static MODELS: PyOnceLock<Vec<(String, Class)>> = PyOnceLock::new();

fn model_class(py: Python<'_>, name: &str) -> PyResult<&'static Class> {
    let models = MODELS.get_or_try_init(py, || {
        let module = py.import("grantex._models")?;
        let names: Vec<String> = module.getattr("__all__")?.extract()?;
        names
            .into_iter()
            .map(|name| {
                let ty = module.getattr(name.as_str())?.cast_into::<PyType>()?;
                Ok((name, Class::of(ty)?))
            })
            .collect::<PyResult<Vec<_>>>()
    })?;
    models
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, class)| class)
        .ok_or_else(|| PyTypeError::new_err(format!("grantex._models has no class {name}")))
}

/// One conversion's caches: per struct type (keyed by the address of its `&'static` name),
/// its class and its fields; the shared strings of the repeating fields.
struct Context<'py> {
    py: Python<'py>,
    classes: RefCell<Vec<StructType<'py>>>,
    /// The field whose value is being converted: (struct type, field index).
    current_field: Cell<Option<(usize, usize)>>,
    strings: RefCell<HashMap<Box<str>, Bound<'py, PyString>, foldhash::fast::RandomState>>,
}

struct StructType<'py> {
    name: *const u8,
    class: &'static Class,
    fields: Vec<Field<'py>>,
}

struct Field<'py> {
    key: *const u8,
    /// The attribute name.
    name: Bound<'py, PyString>,
    /// Strings of this field looked up in the shared strings, and how many were there.
    lookups: u32,
    hits: u32,
}

impl Field<'_> {
    /// Values are shared while at least half of them repeat (judged after a few).
    fn shares_strings(&self) -> bool {
        self.lookups < 16 || self.hits * 2 >= self.lookups
    }
}

impl<'py> Context<'py> {
    /// Enough for every repeating value of a large response; past it, strings are just
    /// created.
    const MAX_SHARED_STRINGS: usize = 4096;

    fn struct_type(&self, name: &'static str) -> PyResult<usize> {
        let mut classes = self.classes.borrow_mut();
        if let Some(i) = classes.iter().position(|t| t.name == name.as_ptr()) {
            return Ok(i);
        }
        classes.push(StructType {
            name: name.as_ptr(),
            class: model_class(self.py, name)?,
            fields: Vec::new(),
        });
        Ok(classes.len() - 1)
    }

    /// The index and attribute name of field number `position` of a struct type: the
    /// `position`-th entry when the struct serializes its fields in the same order as
    /// before (always, for derived impls), else found or added.
    fn field(
        &self,
        struct_type: usize,
        position: usize,
        key: &'static str,
    ) -> (usize, Bound<'py, PyString>) {
        let mut classes = self.classes.borrow_mut();
        let fields = &mut classes[struct_type].fields;
        if let Some(field) = fields.get(position) {
            if field.key == key.as_ptr() {
                return (position, field.name.clone());
            }
        }
        if let Some(i) = fields.iter().position(|f| f.key == key.as_ptr()) {
            return (i, fields[i].name.clone());
        }
        let name = PyString::intern(self.py, &snake_case(key));
        fields.push(Field {
            key: key.as_ptr(),
            name: name.clone(),
            lookups: 0,
            hits: 0,
        });
        (fields.len() - 1, name)
    }

    /// A `str`, shared with the equal strings of the response if its field repeats.
    fn string(&self, text: &str) -> Bound<'py, PyString> {
        if let Some((struct_type, index)) = self.current_field.get() {
            let mut classes = self.classes.borrow_mut();
            let field = &mut classes[struct_type].fields[index];
            if field.shares_strings() {
                field.lookups += 1;
                let mut strings = self.strings.borrow_mut();
                if let Some(shared) = strings.get(text) {
                    field.hits += 1;
                    return shared.clone();
                }
                let created = PyString::new(self.py, text);
                if strings.len() < Self::MAX_SHARED_STRINGS {
                    strings.insert(text.into(), created.clone());
                }
                return created;
            }
        }
        PyString::new(self.py, text)
    }
}

/// `detectedAt` → `detected_at`; `type` stays `type`.
fn snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A Python exception carried through serde.
struct ConvertError(PyErr);

impl From<PyErr> for ConvertError {
    fn from(e: PyErr) -> Self {
        ConvertError(e)
    }
}

impl fmt::Debug for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ConvertError {}

impl ser::Error for ConvertError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ConvertError(PyValueError::new_err(msg.to_string()))
    }
}

type Result<T> = std::result::Result<T, ConvertError>;

#[derive(Clone, Copy)]
struct ToPython<'c, 'py>(&'c Context<'py>);

impl<'py> ToPython<'_, 'py> {
    fn py(&self) -> Python<'py> {
        self.0.py
    }

    fn any<V: IntoPyObject<'py>>(&self, value: V) -> Result<Bound<'py, PyAny>> {
        Ok(value.into_bound_py_any(self.py())?)
    }
}

impl<'c, 'py> ser::Serializer for ToPython<'c, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    type SerializeSeq = Sequence<'c, 'py>;
    type SerializeTuple = Sequence<'c, 'py>;
    type SerializeTupleStruct = Sequence<'c, 'py>;
    type SerializeTupleVariant = ser::Impossible<Self::Ok, ConvertError>;
    type SerializeMap = Map<'c, 'py>;
    type SerializeStruct = Struct<'c, 'py>;
    type SerializeStructVariant = ser::Impossible<Self::Ok, ConvertError>;

    fn serialize_bool(self, v: bool) -> Result<Self::Ok> {
        Ok(PyBool::new(self.py(), v).to_owned().into_any())
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok> {
        self.any(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok> {
        self.any(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok> {
        self.any(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok> {
        self.any(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Self::Ok> {
        self.any(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok> {
        self.any(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok> {
        self.any(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok> {
        self.any(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok> {
        self.any(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Self::Ok> {
        self.any(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok> {
        Ok(PyFloat::new(self.py(), v).into_any())
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok> {
        if has_markers(v) {
            return Ok(unmark(self.py(), v)?);
        }
        Ok(self.0.string(v).into_any())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok> {
        Ok(PyBytes::new(self.py(), v).into_any())
    }
    fn serialize_none(self) -> Result<Self::Ok> {
        Ok(self.py().None().into_bound(self.py()))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        let dict = PyDict::new(self.py());
        dict.set_item(variant, value.serialize(self)?)?;
        Ok(dict.into_any())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq> {
        let len = len.unwrap_or(0);
        Ok(Sequence {
            to: self,
            items: Vec::with_capacity(len),
            _paused: if len >= GC_PAUSE_FROM {
                Some(GcPause::new(self.py())?)
            } else {
                None
            },
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(ser::Error::custom(format!(
            "{name}::{variant}: tuple variants have no Python form"
        )))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Ok(Map {
            to: self,
            dict: PyDict::new(self.py()),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        if name == RAW_JSON {
            return Ok(Struct::Json {
                to: self,
                value: None,
            });
        }
        let struct_type = self.0.struct_type(name)?;
        let class = self.0.classes.borrow()[struct_type].class;
        Ok(Struct::Dataclass {
            to: self,
            struct_type,
            position: 0,
            instance: class.instantiate(self.py())?,
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(ser::Error::custom(format!(
            "{name}::{variant}: struct variants have no Python form"
        )))
    }
}

/// A tuple being built.
struct Sequence<'c, 'py> {
    to: ToPython<'c, 'py>,
    items: Vec<Bound<'py, PyAny>>,
    _paused: Option<GcPause<'py>>,
}

impl<'py> ser::SerializeSeq for Sequence<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.items.push(value.serialize(self.to)?);
        Ok(())
    }

    fn end(self) -> Result<Self::Ok> {
        Ok(PyTuple::new(self.to.py(), self.items)?.into_any())
    }
}

impl<'py> ser::SerializeTuple for Sequence<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<Self::Ok> {
        ser::SerializeSeq::end(self)
    }
}

impl<'py> ser::SerializeTupleStruct for Sequence<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<Self::Ok> {
        ser::SerializeSeq::end(self)
    }
}

/// A dict being built.
struct Map<'c, 'py> {
    to: ToPython<'c, 'py>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
}

impl<'py> ser::SerializeMap for Map<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(self.to)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <ConvertError as ser::Error>::custom("a map value without a key"))?;
        self.dict.set_item(key, value.serialize(self.to)?)?;
        Ok(())
    }

    fn end(self) -> Result<Self::Ok> {
        Ok(self.dict.into_any())
    }
}

/// A dataclass instance being filled in, or JSON text being captured.
enum Struct<'c, 'py> {
    Dataclass {
        to: ToPython<'c, 'py>,
        struct_type: usize,
        position: usize,
        instance: Bound<'py, PyAny>,
    },
    Json {
        to: ToPython<'c, 'py>,
        value: Option<Bound<'py, PyAny>>,
    },
}

impl<'py> ser::SerializeStruct for Struct<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        match self {
            Struct::Dataclass {
                to,
                struct_type,
                position,
                instance,
            } => {
                let (index, name) = to.0.field(*struct_type, *position, key);
                *position += 1;
                let outer = to.0.current_field.replace(Some((*struct_type, index)));
                let value = value.serialize(*to);
                to.0.current_field.set(outer);
                let value = value?;
                // `object.__setattr__(instance, name, value)`: exactly how the frozen
                // dataclass `__init__` stores each field (the class's own `__setattr__`
                // refuses).
                // SAFETY: three live objects; returns 0, or -1 with an exception set.
                let status = unsafe {
                    ffi::PyObject_GenericSetAttr(instance.as_ptr(), name.as_ptr(), value.as_ptr())
                };
                if status != 0 {
                    return Err(PyErr::fetch(to.py()).into());
                }
                Ok(())
            }
            Struct::Json { to, value: parsed } => {
                let text = value.serialize(JsonText)?;
                *parsed = Some(json_to_python(to.py(), text.as_bytes())?);
                Ok(())
            }
        }
    }

    fn end(self) -> Result<Self::Ok> {
        match self {
            Struct::Dataclass { instance, .. } => Ok(instance),
            Struct::Json { value, .. } => {
                value.ok_or_else(|| ser::Error::custom("RawValue without its text"))
            }
        }
    }
}

/// Takes the text out of a `RawValue` (which serializes it as a string field).
struct JsonText;

macro_rules! not_text {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ret> {
            Err(ser::Error::custom("RawValue holds text"))
        }
    )*};
}

impl ser::Serializer for JsonText {
    type Ok = String;
    type Error = ConvertError;
    type SerializeSeq = ser::Impossible<String, ConvertError>;
    type SerializeTuple = ser::Impossible<String, ConvertError>;
    type SerializeTupleStruct = ser::Impossible<String, ConvertError>;
    type SerializeTupleVariant = ser::Impossible<String, ConvertError>;
    type SerializeMap = ser::Impossible<String, ConvertError>;
    type SerializeStruct = ser::Impossible<String, ConvertError>;
    type SerializeStructVariant = ser::Impossible<String, ConvertError>;

    fn serialize_str(self, v: &str) -> Result<String> {
        Ok(v.to_owned())
    }

    not_text! {
        serialize_bool(bool) -> String;
        serialize_i8(i8) -> String;
        serialize_i16(i16) -> String;
        serialize_i32(i32) -> String;
        serialize_i64(i64) -> String;
        serialize_u8(u8) -> String;
        serialize_u16(u16) -> String;
        serialize_u32(u32) -> String;
        serialize_u64(u64) -> String;
        serialize_f32(f32) -> String;
        serialize_f64(f64) -> String;
        serialize_char(char) -> String;
        serialize_bytes(&[u8]) -> String;
        serialize_none() -> String;
        serialize_unit() -> String;
        serialize_unit_struct(&'static str) -> String;
        serialize_unit_variant(&'static str, u32, &'static str) -> String;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String> {
        Err(ser::Error::custom("RawValue holds text"))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<String> {
        Err(ser::Error::custom("RawValue holds text"))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String> {
        Err(ser::Error::custom("RawValue holds text"))
    }
}

/// Python's cyclic garbage collector, paused while a large result is built: every object
/// created is alive and acyclic until the result is returned, so the collections that the
/// allocations would trigger (one per 700 containers) could only walk them in vain.
/// Resumed on drop, also on error, and only if it was running before.
struct GcPause<'py> {
    enable: Option<Bound<'py, PyAny>>,
}

impl<'py> GcPause<'py> {
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
