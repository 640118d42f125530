//! A map's fields read in one pass. Each automerge `get` seeks the document's operations
//! afresh; a record's mapping reads a dozen fields, so [`Fields::of`] walks the map once
//! (`map_range`) and the accessors look the values up in what it collected. Same errors
//! as the one-field accessors in [`super`].

use std::borrow::Cow;

use automerge::{ObjId, ObjType, ReadDoc, ScalarValueRef, ValueRef};

use crate::error::{Error, Result};

/// The fields of one map object (the winning value of each key).
pub(crate) struct Fields<'a> {
    items: Vec<(Cow<'a, str>, ValueRef<'a>, Option<ObjId>)>,
}

fn corrupt(key: &str, what: &str) -> Error {
    Error::corrupt("document", format!("field {key} {what}"))
}

impl<'a> Fields<'a> {
    /// Reads every field of map `obj` of `doc`.
    pub(crate) fn of(doc: &'a impl ReadDoc, obj: &ObjId) -> Self {
        let items = doc
            .map_range(obj, ..)
            .map(|item| {
                let id = matches!(item.value, ValueRef::Object(_)).then(|| item.id());
                (item.key, item.value, id)
            })
            .collect();
        Fields { items }
    }

    fn value(&self, key: &str) -> Option<(&ValueRef<'a>, Option<&ObjId>)> {
        self.items
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, id)| (v, id.as_ref()))
    }

    fn scalar(&self, key: &str) -> Option<std::result::Result<&ScalarValueRef<'a>, ()>> {
        self.value(key).map(|(v, _)| match v {
            ValueRef::Scalar(s) => Ok(s),
            ValueRef::Object(_) => Err(()),
        })
    }

    /// A string field, or `None` when absent.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<String>> {
        match self.scalar(key) {
            None => Ok(None),
            Some(Ok(ScalarValueRef::Str(s))) => Ok(Some(s.to_string())),
            Some(_) => Err(corrupt(key, "is not text")),
        }
    }

    /// A required string field.
    pub(crate) fn req_str(&self, key: &str) -> Result<String> {
        self.opt_str(key)?.ok_or_else(|| corrupt(key, "is missing"))
    }

    /// An integer field, or `None` when absent.
    pub(crate) fn opt_i64(&self, key: &str) -> Result<Option<i64>> {
        match self.scalar(key) {
            None => Ok(None),
            Some(Ok(ScalarValueRef::Int(i) | ScalarValueRef::Timestamp(i))) => Ok(Some(*i)),
            Some(Ok(ScalarValueRef::Uint(u))) => Ok(i64::try_from(*u).ok()),
            Some(_) => Err(corrupt(key, "is not a number")),
        }
    }

    /// A required integer field.
    pub(crate) fn req_i64(&self, key: &str) -> Result<i64> {
        self.opt_i64(key)?.ok_or_else(|| corrupt(key, "is missing"))
    }

    /// A float field, or `None` when absent.
    pub(crate) fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        match self.scalar(key) {
            None => Ok(None),
            Some(Ok(ScalarValueRef::F64(f))) => Ok(Some(*f)),
            Some(Ok(ScalarValueRef::Int(i))) => Ok(Some(*i as f64)),
            Some(_) => Err(corrupt(key, "is not a number")),
        }
    }

    /// A boolean field, `false` when absent.
    pub(crate) fn flag(&self, key: &str) -> Result<bool> {
        match self.scalar(key) {
            None => Ok(false),
            Some(Ok(ScalarValueRef::Boolean(b))) => Ok(*b),
            Some(_) => Err(corrupt(key, "is not a flag")),
        }
    }

    /// A required nested object of type `want`.
    pub(crate) fn req_obj(&self, key: &str, want: ObjType) -> Result<ObjId> {
        match self.value(key) {
            None => Err(corrupt(key, "is missing")),
            Some((ValueRef::Object(t), Some(id))) if *t == want => Ok(id.clone()),
            Some(_) => Err(corrupt(key, "has the wrong type")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::super::{flag, opt_i64, opt_str, req_obj};
    use super::*;

    fn same<T: PartialEq>(a: &Result<T>, b: &Result<T>) -> bool {
        match (a, b) {
            (Ok(x), Ok(y)) => x == y,
            (Err(x), Err(y)) => x.to_string() == y.to_string(),
            _ => false,
        }
    }

    /// Every accessor answers as its one-field counterpart does, present, absent or
    /// mistyped.
    #[test]
    fn one_pass_reads_answer_as_single_gets_do() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "s", "网格").unwrap();
        doc.put(ROOT, "i", 42_i64).unwrap();
        doc.put(ROOT, "u", 7_u64).unwrap();
        doc.put(ROOT, "f", 1.5_f64).unwrap();
        doc.put(ROOT, "b", true).unwrap();
        let list = doc.put_object(ROOT, "l", ObjType::List).unwrap();
        doc.put(ROOT, "s", "网格员").unwrap(); // a later write wins
        let f = Fields::of(&doc, &ROOT);
        for key in ["s", "i", "u", "f", "b", "l", "absent"] {
            assert!(same(&f.opt_str(key), &opt_str(&doc, &ROOT, key)), "{key}");
            assert!(same(&f.opt_i64(key), &opt_i64(&doc, &ROOT, key)), "{key}");
            assert!(same(&f.flag(key), &flag(&doc, &ROOT, key)), "{key}");
            let list_of = |r: Result<ObjId>| r.ok();
            assert_eq!(
                list_of(f.req_obj(key, ObjType::List)),
                list_of(req_obj(&doc, &ROOT, key, ObjType::List)),
                "{key}"
            );
        }
        assert_eq!(f.req_str("s").unwrap(), "网格员");
        assert_eq!(f.opt_f64("f").unwrap(), Some(1.5));
        assert_eq!(f.opt_f64("i").unwrap(), Some(42.0));
        assert_eq!(f.opt_f64("absent").unwrap(), None);
        assert!(f.opt_f64("s").is_err());
        assert_eq!(f.req_obj("l", ObjType::List).unwrap(), list);
        assert!(f.req_obj("l", ObjType::Map).is_err());
    }
}
