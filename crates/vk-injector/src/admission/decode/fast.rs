//! The fast path of [`ReviewIn::decode`]: the review's envelope walked with
//! [`vk_inject::fastscan::Scanner`], the pod built by its `pod` (the same pruned tree as
//! `AdmittedPod::seed`). `None` is "not handled": the body is then decoded by serde (the
//! authority), which gives its exact result or error. So anything the derive's rules would
//! treat specially is left to it: the positional (array) form, a repeated field, a field of
//! the wrong type.

use std::borrow::Cow;

use bumpalo::Bump;
use vk_inject::fastscan::Scanner;

use super::super::{GroupVersionKind, Request, ReviewIn};

/// The review in `text`, or `None` when the fast path does not handle it.
pub(super) fn review<'a>(text: &'a str, arena: &'a Bump) -> Option<ReviewIn<'a>> {
    let mut scan = Scanner::new(text, arena);
    let (mut kind, mut api_version, mut request) = (None, None, None);
    scan.object(|scan, key| match key {
        "kind" => once(&mut kind, scan.string()?),
        "apiVersion" => once(&mut api_version, scan.string()?),
        "request" => {
            let value = if scan.null()? {
                None
            } else {
                Some(request_in(scan)?)
            };
            once(&mut request, value)
        }
        _ => scan.skip_value(),
    })?;
    scan.end()?;
    Some(ReviewIn {
        kind: kind.unwrap_or_default(),
        api_version: api_version.unwrap_or_default(),
        request: request.flatten(),
    })
}

fn request_in<'a>(scan: &mut Scanner<'a>) -> Option<Request<'a>> {
    let (mut uid, mut kind, mut namespace, mut operation, mut object) =
        (None, None, None, None, None);
    scan.object(|scan, key| match key {
        "uid" => once(&mut uid, scan.string()?),
        "kind" => once(&mut kind, kind_in(scan)?),
        "namespace" => once(&mut namespace, scan.string()?),
        "operation" => once(&mut operation, scan.string()?),
        "object" => once(&mut object, scan.pod()?),
        _ => scan.skip_value(),
    })?;
    Some(Request {
        uid: uid.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        namespace: namespace.unwrap_or_default(),
        operation: operation.unwrap_or_default(),
        object: object.unwrap_or_default(),
    })
}

fn kind_in<'a>(scan: &mut Scanner<'a>) -> Option<GroupVersionKind<'a>> {
    let mut kind: Option<Cow<'a, str>> = None;
    scan.object(|scan, key| match key {
        "kind" => once(&mut kind, scan.string()?),
        _ => scan.skip_value(),
    })?;
    Some(GroupVersionKind {
        kind: kind.unwrap_or_default(),
    })
}

/// Fills `slot`; a field given twice is not handled (serde refuses it).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(value))
}
