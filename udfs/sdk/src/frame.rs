//! The ABI's frames on the guest side: reading the host's batch, writing the result, memory, and
//! the last panic's message.

use std::alloc::{self as heap, Layout};
use std::sync::Mutex;

use crate::column::{Column, Out};
use crate::tag;

const BATCH_MAGIC: u32 = u32::from_le_bytes(*b"LPB1");
const ERROR_MAGIC: u32 = u32::from_le_bytes(*b"LPE1");
const HEADER: usize = 16;
const DESCRIPTOR: usize = 32;

pub(crate) fn alloc(len: usize) -> usize {
    match Layout::from_size_align(len.max(1), 8) {
        Ok(layout) => unsafe { heap::alloc(layout) as usize },
        Err(_) => 0,
    }
}

pub(crate) unsafe fn free(ptr: *mut u8, len: usize) {
    if let Ok(layout) = Layout::from_size_align(len.max(1), 8) {
        if !ptr.is_null() {
            heap::dealloc(ptr, layout)
        }
    }
}

fn word(b: &[u8], at: usize) -> Result<u32, String> {
    match b.get(at..at + 4) {
        Some(w) => Ok(u32::from_le_bytes([w[0], w[1], w[2], w[3]])),
        None => Err("the batch frame is truncated".into()),
    }
}

/// The host's batch.
pub struct Batch<'a> {
    rows: usize,
    columns: Vec<Column<'a>>,
}

impl<'a> Batch<'a> {
    /// Reads the frame at `ptr` (`len` bytes), which the host wrote into memory from
    /// `lakeplane_alloc`.
    pub unsafe fn from_raw(ptr: *const u8, len: usize) -> Result<Batch<'a>, String> {
        let b: &'a [u8] = core::slice::from_raw_parts(ptr, len);
        Batch::parse(b)
    }

    pub fn parse(b: &'a [u8]) -> Result<Batch<'a>, String> {
        if word(b, 0)? != BATCH_MAGIC {
            return Err("the host sent something that is not a batch frame".into());
        }
        let rows = word(b, 4)? as usize;
        let n = word(b, 8)? as usize;
        let mut columns = Vec::with_capacity(n);
        for i in 0..n {
            let d = HEADER + DESCRIPTOR * i;
            let part = |k: usize| -> Result<&'a [u8], String> {
                let (off, len) = (word(b, d + 8 + 8 * k)? as usize, word(b, d + 12 + 8 * k)? as usize);
                b.get(off..off + len).ok_or_else(|| "a buffer lies outside the frame".to_string())
            };
            let ty = word(b, d)?;
            let validity = if word(b, d + 4)? & 1 == 1 {
                let v = part(0)?;
                if v.len() * 8 < rows {
                    return Err("a validity buffer is too short".into());
                }
                Some(v)
            } else {
                None
            };
            let raw = part(1)?;
            if raw.len() % 4 != 0 || raw.as_ptr() as usize % 4 != 0 {
                return Err("an offsets buffer is misaligned".into());
            }
            // Aligned and in bounds (checked above); every bit pattern is an i32.
            let offsets: &'a [i32] =
                unsafe { core::slice::from_raw_parts(raw.as_ptr() as *const i32, raw.len() / 4) };
            columns.push(Column {
                ty,
                rows,
                validity,
                offsets,
                data: part(2)?,
            });
        }
        Ok(Batch { rows, columns })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn columns(&self) -> usize {
        self.columns.len()
    }

    /// Column `i` (the macro checks the arity first).
    pub fn column(&self, i: usize) -> &Column<'a> {
        &self.columns[i]
    }
}

fn align8(n: usize) -> usize {
    (n + 7) / 8 * 8
}

/// Leaks `frame` to the host (which frees it with `lakeplane_free(ptr, len)`), packed as
/// `ptr << 32 | len`.
fn hand_over(len: usize, fill: impl FnOnce(&mut [u8])) -> i64 {
    let ptr = alloc(len);
    if ptr == 0 {
        return 0;
    }
    let f = unsafe { core::slice::from_raw_parts_mut(ptr as *mut u8, len) };
    f.fill(0);
    fill(f);
    ((ptr as u64) << 32 | len as u64) as i64
}

/// The result frame of one column.
pub(crate) fn result(out: &Out) -> i64 {
    let variable = out.ty == tag::UTF8 || out.ty == tag::BINARY;
    let validity: &[u8] = if out.any_null { &out.validity } else { &[] };
    let offsets: Vec<u8> = if variable {
        out.offsets.iter().flat_map(|o| o.to_le_bytes()).collect()
    } else {
        Vec::new()
    };
    let mut at = HEADER + DESCRIPTOR;
    let mut place = |b: &[u8]| {
        if b.is_empty() {
            return (0, 0);
        }
        at = align8(at);
        let here = (at, b.len());
        at += b.len();
        here
    };
    let v = place(validity);
    let o = place(&offsets);
    let d = place(&out.data);
    hand_over(at, |f| {
        let mut put = |at: usize, x: u32| f[at..at + 4].copy_from_slice(&x.to_le_bytes());
        put(0, BATCH_MAGIC);
        put(4, out.rows as u32);
        put(8, 1);
        put(HEADER, out.ty);
        put(HEADER + 4, out.any_null as u32);
        for (k, (off, len)) in [v, o, d].iter().enumerate() {
            put(HEADER + 8 + 8 * k, *off as u32);
            put(HEADER + 12 + 8 * k, *len as u32);
        }
        for (b, (off, len)) in [(validity, v), (&offsets[..], o), (&out.data[..], d)] {
            f[off..off + len].copy_from_slice(b);
        }
    })
}

/// An error frame with `msg`.
pub(crate) fn error(msg: &str) -> i64 {
    hand_over(8 + msg.len(), |f| {
        f[..4].copy_from_slice(&ERROR_MAGIC.to_le_bytes());
        f[4..8].copy_from_slice(&(msg.len() as u32).to_le_bytes());
        f[8..].copy_from_slice(msg.as_bytes());
    })
}

static LAST_ERROR: Mutex<String> = Mutex::new(String::new());
static HOOKED: Mutex<bool> = Mutex::new(false);

/// Keeps each panic's message for [`last_error`] (a panic in wasm32 aborts: the host sees a trap
/// and then asks for the message).
pub(crate) fn catch_panics() {
    let mut hooked = match HOOKED.lock() {
        Ok(h) => h,
        Err(p) => p.into_inner(),
    };
    if *hooked {
        return;
    }
    *hooked = true;
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut last) = LAST_ERROR.lock() {
            *last = format!("panicked: {}", info);
        }
    }));
}

pub(crate) fn last_error() -> i64 {
    let msg = match LAST_ERROR.lock() {
        Ok(m) => m.clone(),
        Err(p) => p.into_inner().clone(),
    };
    let ptr = msg.as_ptr() as u64;
    let len = msg.len() as u64;
    // Kept alive until the next call; the host reads it at once.
    std::mem::forget(msg);
    (ptr << 32 | len) as i64
}
