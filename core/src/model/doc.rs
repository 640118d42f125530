//! Small typed accessors over automerge documents, shared by the record mappings.
//! Missing or mistyped fields in a document read back as [`Error::Corrupt`].

use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value};

use crate::error::{Error, Result};

mod fields;
pub(crate) use fields::Fields;

/// Wraps an automerge error as a corrupt document.
pub(crate) fn am(e: automerge::AutomergeError) -> Error {
    Error::corrupt("document", e)
}

fn scalar<'a>(v: &'a Value<'_>) -> Option<&'a ScalarValue> {
    match v {
        Value::Scalar(s) => Some(s.as_ref()),
        Value::Object(_) => None,
    }
}

/// A string field, or `None` when absent.
pub(crate) fn opt_str(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Result<Option<String>> {
    match doc.get(obj, key).map_err(am)? {
        None => Ok(None),
        Some((v, _)) => match scalar(&v) {
            Some(ScalarValue::Str(s)) => Ok(Some(s.to_string())),
            _ => Err(Error::corrupt(
                "document",
                format!("field {key} is not text"),
            )),
        },
    }
}

/// A required string field.
pub(crate) fn req_str(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Result<String> {
    opt_str(doc, obj, key)?
        .ok_or_else(|| Error::corrupt("document", format!("field {key} is missing")))
}

/// An integer field, or `None` when absent.
pub(crate) fn opt_i64(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Result<Option<i64>> {
    match doc.get(obj, key).map_err(am)? {
        None => Ok(None),
        Some((v, _)) => match scalar(&v) {
            Some(ScalarValue::Int(i)) | Some(ScalarValue::Timestamp(i)) => Ok(Some(*i)),
            Some(ScalarValue::Uint(u)) => Ok(i64::try_from(*u).ok()),
            _ => Err(Error::corrupt(
                "document",
                format!("field {key} is not a number"),
            )),
        },
    }
}

/// A required integer field.
pub(crate) fn req_i64(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Result<i64> {
    opt_i64(doc, obj, key)?
        .ok_or_else(|| Error::corrupt("document", format!("field {key} is missing")))
}

/// A boolean field, `false` when absent.
pub(crate) fn flag(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Result<bool> {
    match doc.get(obj, key).map_err(am)? {
        None => Ok(false),
        Some((v, _)) => match scalar(&v) {
            Some(ScalarValue::Boolean(b)) => Ok(*b),
            _ => Err(Error::corrupt(
                "document",
                format!("field {key} is not a flag"),
            )),
        },
    }
}

/// A nested object of the given type, or `None` when absent.
pub(crate) fn opt_obj(
    doc: &impl ReadDoc,
    obj: &ObjId,
    key: &str,
    want: ObjType,
) -> Result<Option<ObjId>> {
    match doc.get(obj, key).map_err(am)? {
        None => Ok(None),
        Some((Value::Object(t), id)) if t == want => Ok(Some(id)),
        Some(_) => Err(Error::corrupt(
            "document",
            format!("field {key} has the wrong type"),
        )),
    }
}

/// A required nested object.
pub(crate) fn req_obj(doc: &impl ReadDoc, obj: &ObjId, key: &str, want: ObjType) -> Result<ObjId> {
    opt_obj(doc, obj, key, want)?
        .ok_or_else(|| Error::corrupt("document", format!("field {key} is missing")))
}

/// The object ids of a list's items that are objects, in list order.
pub(crate) fn list_objects(doc: &impl ReadDoc, list: &ObjId) -> Result<Vec<ObjId>> {
    let mut out = Vec::new();
    for i in 0..doc.length(list) {
        if let Some((Value::Object(_), id)) = doc.get(list, i).map_err(am)? {
            out.push(id);
        }
    }
    Ok(out)
}

/// The text items of a list, in list order.
pub(crate) fn list_strs(doc: &impl ReadDoc, list: &ObjId) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for i in 0..doc.length(list) {
        if let Some((v, _)) = doc.get(list, i).map_err(am)?
            && let Some(ScalarValue::Str(s)) = scalar(&v)
        {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

/// The keys of a map, sorted.
pub(crate) fn map_keys(doc: &impl ReadDoc, map: &ObjId) -> Vec<String> {
    doc.keys(map).collect()
}
