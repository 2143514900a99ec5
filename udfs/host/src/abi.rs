//! The wire format between host and guest (ABI version 1; `udfs/ABI.md` is its specification).
//!
//! One call carries a whole batch: the host writes a *frame* of Arrow-layout buffers into the
//! guest's memory, the guest answers with a frame of one column. All integers are little-endian.
//!
//! ```text
//! frame   = header, descriptor × columns, buffers (each at an 8-byte aligned offset)
//! header  = magic "LPB1" (u32) | rows (u32) | columns (u32) | reserved (u32, 0)
//! descr.  = type (u32) | flags (u32, bit 0: validity present)
//!         | validity offset, length | offsets offset, length | data offset, length   (u32 each)
//! error   = magic "LPE1" (u32) | length (u32) | UTF-8 message
//! ```
//! Offsets are from the frame's start. Validity is Arrow's: bit `i % 8` of byte `i / 8`, 1 when
//! row `i` is not null. Strings and binaries have `rows + 1` i32 offsets starting at 0 and their
//! bytes; booleans are bit-packed like validity; the other types are fixed-width values.

use std::borrow::Cow;

use arrow_array::{make_array, Array, ArrayRef};
use arrow_buffer::Buffer;
use arrow_data::ArrayData;
use arrow_schema::{DataType, TimeUnit};

use crate::error::CallFailure;

/// The ABI version this host speaks; a module exports it from `lakeplane_abi_version`.
pub const ABI_VERSION: i32 = 1;
/// `"LPB1"`: a batch frame.
pub const BATCH_MAGIC: u32 = u32::from_le_bytes(*b"LPB1");
/// `"LPE1"`: an error frame.
pub const ERROR_MAGIC: u32 = u32::from_le_bytes(*b"LPE1");
const HEADER: usize = 16;
const DESCRIPTOR: usize = 32;

/// The types a UDF's arguments and result may have, with their ABI tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmType {
    Boolean = 1,
    Int32 = 2,
    Int64 = 3,
    Float32 = 4,
    Float64 = 5,
    Utf8 = 6,
    Binary = 7,
    /// Days since 1970-01-01 (i32).
    Date = 8,
    /// Microseconds since 1970-01-01 00:00 UTC (i64).
    Timestamp = 9,
}

impl WasmType {
    /// The ABI type of an Arrow type, if the ABI carries it.
    pub fn of(dt: &DataType) -> Option<WasmType> {
        Some(match dt {
            DataType::Boolean => WasmType::Boolean,
            DataType::Int32 => WasmType::Int32,
            DataType::Int64 => WasmType::Int64,
            DataType::Float32 => WasmType::Float32,
            DataType::Float64 => WasmType::Float64,
            DataType::Utf8 => WasmType::Utf8,
            DataType::Binary => WasmType::Binary,
            DataType::Date32 => WasmType::Date,
            DataType::Timestamp(TimeUnit::Microsecond, _) => WasmType::Timestamp,
            _ => return None,
        })
    }

    fn tag(self) -> u32 {
        self as u32
    }

    /// Bytes per value of a fixed-width type; `None` for bit-packed and variable-width ones.
    fn width(self) -> Option<usize> {
        match self {
            WasmType::Int32 | WasmType::Float32 | WasmType::Date => Some(4),
            WasmType::Int64 | WasmType::Float64 | WasmType::Timestamp => Some(8),
            WasmType::Boolean | WasmType::Utf8 | WasmType::Binary => None,
        }
    }

    fn variable(self) -> bool {
        matches!(self, WasmType::Utf8 | WasmType::Binary)
    }
}

fn bitmap_len(rows: usize) -> usize {
    rows.div_ceil(8)
}

fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// One column's buffers, ready to be laid out.
struct Parts<'a> {
    tag: u32,
    validity: Option<Cow<'a, [u8]>>,
    offsets: Option<Cow<'a, [u8]>>,
    data: Cow<'a, [u8]>,
}

/// A batch of argument columns, planned for writing into a guest.
pub(crate) struct Frame<'a> {
    rows: usize,
    columns: Vec<Parts<'a>>,
    len: usize,
}

impl<'a> Frame<'a> {
    /// Plans the frame of `columns` (each of `rows` rows and of an ABI type). Errors: a type the
    /// ABI does not carry (checked when the function was declared, so a bug if it happens).
    pub(crate) fn new(columns: &'a [ArrayRef], rows: usize) -> Result<Frame<'a>, String> {
        let mut parts = Vec::with_capacity(columns.len());
        for c in columns {
            parts.push(column_parts(c.as_ref())?);
        }
        let mut len = HEADER + DESCRIPTOR * parts.len();
        for p in &parts {
            for b in [&p.validity, &p.offsets].into_iter().flatten() {
                len = align8(len) + b.len();
            }
            len = align8(len) + p.data.len();
        }
        Ok(Frame {
            rows,
            columns: parts,
            len,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Writes the frame into `out`, which is exactly [`Frame::len`] bytes.
    pub(crate) fn write(&self, out: &mut [u8]) {
        let mut put = |at: usize, v: u32| {
            if let Some(s) = out.get_mut(at..at + 4) {
                s.copy_from_slice(&v.to_le_bytes());
            }
        };
        put(0, BATCH_MAGIC);
        put(4, self.rows as u32);
        put(8, self.columns.len() as u32);
        put(12, 0);
        let mut at = HEADER + DESCRIPTOR * self.columns.len();
        let mut places = Vec::with_capacity(self.columns.len());
        for p in &self.columns {
            let mut place = |b: Option<&[u8]>| match b {
                Some(b) => {
                    at = align8(at);
                    let here = (at, b.len());
                    at += b.len();
                    here
                }
                None => (0, 0),
            };
            let v = place(p.validity.as_deref());
            let o = place(p.offsets.as_deref());
            let d = place(Some(&p.data));
            places.push((v, o, d));
        }
        for (i, (p, (v, o, d))) in self.columns.iter().zip(&places).enumerate() {
            let base = HEADER + DESCRIPTOR * i;
            put(base, p.tag);
            put(base + 4, u32::from(p.validity.is_some()));
            for (k, (off, len)) in [v, o, d].into_iter().enumerate() {
                put(base + 8 + 8 * k, *off as u32);
                put(base + 12 + 8 * k, *len as u32);
            }
        }
        for (p, (v, o, d)) in self.columns.iter().zip(&places) {
            for (buf, (off, len)) in [
                (p.validity.as_deref(), v),
                (p.offsets.as_deref(), o),
                (Some(&p.data[..]), d),
            ] {
                if let (Some(buf), Some(dst)) = (buf, out.get_mut(*off..*off + *len)) {
                    dst.copy_from_slice(buf);
                }
            }
        }
    }
}

/// A column's buffers as the ABI lays them out: validity and bit-packed values re-based to bit
/// 0, string offsets re-based to 0.
fn column_parts(a: &dyn Array) -> Result<Parts<'_>, String> {
    let ty = WasmType::of(a.data_type())
        .ok_or_else(|| format!("type {} has no UDF ABI type", a.data_type()))?;
    let data = a.to_data();
    let rows = a.len();
    let validity = a.nulls().filter(|n| n.null_count() > 0).map(|n| {
        let bits = n.inner().sliced();
        Cow::Owned(bits.as_slice()[..bitmap_len(rows)].to_vec())
    });
    let (offsets, bytes): (Option<Cow<[u8]>>, Cow<[u8]>) = if ty.variable() {
        let offs = data.buffers()[0].typed_data::<i32>();
        let offs = &offs[data.offset()..data.offset() + rows + 1];
        let first = offs[0];
        let rebased: Vec<u8> = offs
            .iter()
            .flat_map(|o| (o - first).to_le_bytes())
            .collect();
        let values = &data.buffers()[1].as_slice()[first as usize..offs[rows] as usize];
        (Some(Cow::Owned(rebased)), Cow::Owned(values.to_vec()))
    } else if let Some(w) = ty.width() {
        let b = &data.buffers()[0].as_slice()[data.offset() * w..(data.offset() + rows) * w];
        (None, Cow::Owned(b.to_vec()))
    } else {
        // Booleans: bit-packed values, re-based to bit 0.
        let bits = arrow_buffer::BooleanBuffer::new(data.buffers()[0].clone(), data.offset(), rows);
        (
            None,
            Cow::Owned(bits.sliced().as_slice()[..bitmap_len(rows)].to_vec()),
        )
    };
    Ok(Parts {
        tag: ty.tag(),
        validity,
        offsets,
        data: bytes,
    })
}

/// Reads a little-endian u32 at `at`.
fn word(frame: &[u8], at: usize) -> Result<u32, CallFailure> {
    frame
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| CallFailure::Malformed(format!("the frame ends before byte {}", at + 4)))
}

/// The bytes `[off, off+len)` of the frame.
fn range<'f>(frame: &'f [u8], off: u32, len: u32, what: &str) -> Result<&'f [u8], CallFailure> {
    let (off, len) = (off as usize, len as usize);
    frame.get(off..off.saturating_add(len)).ok_or_else(|| {
        CallFailure::Malformed(format!(
            "its {what} buffer ({len} bytes at {off}) lies outside the {}-byte result",
            frame.len()
        ))
    })
}

/// Reads a guest's result frame: one column of `rows` rows of type `ty`, validated in full (row
/// count, type, buffer bounds and sizes, offsets, UTF-8). A guest's error frame becomes
/// [`CallFailure::Guest`].
pub(crate) fn read_result(
    frame: &[u8],
    rows: usize,
    ty: &DataType,
) -> Result<ArrayRef, CallFailure> {
    let magic = word(frame, 0)?;
    if magic == ERROR_MAGIC {
        let len = word(frame, 4)?;
        let msg = range(frame, 8, len, "error message")?;
        return Err(CallFailure::Guest(
            String::from_utf8_lossy(msg).into_owned(),
        ));
    }
    if magic != BATCH_MAGIC {
        return Err(CallFailure::Malformed(format!(
            "it starts with {magic:#010x}, not the magic of a batch or an error"
        )));
    }
    let (got_rows, columns) = (word(frame, 4)? as usize, word(frame, 8)?);
    if got_rows != rows || columns != 1 {
        return Err(CallFailure::Malformed(format!(
            "it has {got_rows} rows in {columns} columns; expected {rows} rows in 1 column"
        )));
    }
    let want =
        WasmType::of(ty).ok_or_else(|| CallFailure::Malformed(format!("no ABI type for {ty}")))?;
    let d = |k: usize| word(frame, HEADER + 4 * k);
    if d(0)? != want.tag() {
        return Err(CallFailure::Malformed(format!(
            "its column has type tag {}; the function returns {ty} (tag {})",
            d(0)?,
            want.tag()
        )));
    }
    let exact = |b: &[u8], n: usize, what: &str| {
        if b.len() == n {
            Ok(())
        } else {
            Err(CallFailure::Malformed(format!(
                "its {what} buffer is {} bytes; {rows} rows need {n}",
                b.len()
            )))
        }
    };
    let mut builder = ArrayData::builder(ty.clone()).len(rows);
    if d(1)? & 1 == 1 {
        let v = range(frame, d(2)?, d(3)?, "validity")?;
        exact(v, bitmap_len(rows), "validity")?;
        builder = builder.null_bit_buffer(Some(Buffer::from_slice_ref(v)));
    }
    let data = range(frame, d(6)?, d(7)?, "data")?;
    if want.variable() {
        let offsets = range(frame, d(4)?, d(5)?, "offsets")?;
        exact(offsets, (rows + 1) * 4, "offsets")?;
        builder = builder
            .add_buffer(Buffer::from_slice_ref(offsets))
            .add_buffer(Buffer::from_slice_ref(data));
    } else {
        let n = want.width().map_or(bitmap_len(rows), |w| rows * w);
        exact(data, n, "data")?;
        builder = builder.add_buffer(Buffer::from_slice_ref(data));
    }
    // `build` validates everything a guest could get wrong: offsets in bounds and monotonic,
    // UTF-8, buffer sizes.
    let data = builder
        .build()
        .map_err(|e| CallFailure::Malformed(e.to_string()))?;
    Ok(make_array(data))
}
