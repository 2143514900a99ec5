//! Columns in and out: typed views over the argument buffers, and the result column's builder.

use crate::tag;

/// A DATE: days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

/// A TIMESTAMP: microseconds since 1970-01-01 00:00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// One argument column as the host laid it out (Arrow buffers).
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    pub ty: u32,
    pub rows: usize,
    /// Bit `i` set when row `i` is not null; `None` when no row is null.
    pub validity: Option<&'a [u8]>,
    /// `rows + 1` offsets into `data` (strings and binaries), else empty.
    pub offsets: &'a [i32],
    pub data: &'a [u8],
}

impl<'a> Column<'a> {
    #[inline]
    pub fn is_valid(&self, row: usize) -> bool {
        match self.validity {
            None => true,
            Some(bits) => bits[row >> 3] & (1 << (row & 7)) != 0,
        }
    }

    fn check(&self, want: u32, index: usize, name: &str) -> Result<(), String> {
        if self.ty == want {
            Ok(())
        } else {
            Err(format!(
                "argument {} ({}) is {} but the function takes {}",
                index + 1,
                name,
                tag::name(self.ty),
                tag::name(want)
            ))
        }
    }

    /// The values of a fixed-width column as a slice of `T` (the host aligns buffers to 8).
    fn values<T: Copy>(&self) -> Result<&'a [T], String> {
        let size = core::mem::size_of::<T>();
        if self.data.len() != self.rows * size
            || self.data.as_ptr() as usize % core::mem::align_of::<T>() != 0
        {
            return Err("a column's buffer has the wrong size or alignment".into());
        }
        Ok(unsafe { core::slice::from_raw_parts(self.data.as_ptr() as *const T, self.rows) })
    }
}

/// A type a function can take. `View` is the column prepared once per batch; `get` reads one
/// row, `None` when the row is null for a strict argument.
pub trait Arg<'a>: Sized {
    const TYPE: u32;
    type View;
    fn view(col: &Column<'a>, index: usize, name: &str) -> Result<Self::View, String>;
    fn get(view: &Self::View, row: usize) -> Option<Self>;
}

/// A fixed-width column's values with its validity.
pub struct Fixed<'a, T> {
    col: Column<'a>,
    values: &'a [T],
}

macro_rules! fixed_arg {
    ($t:ty, $tag:expr, $raw:ty, $wrap:expr) => {
        impl<'a> Arg<'a> for $t {
            const TYPE: u32 = $tag;
            type View = Fixed<'a, $raw>;
            fn view(col: &Column<'a>, index: usize, name: &str) -> Result<Self::View, String> {
                col.check($tag, index, name)?;
                Ok(Fixed {
                    col: *col,
                    values: col.values::<$raw>()?,
                })
            }
            #[inline]
            fn get(view: &Self::View, row: usize) -> Option<Self> {
                if view.col.is_valid(row) {
                    Some($wrap(view.values[row]))
                } else {
                    None
                }
            }
        }
    };
}

fixed_arg!(i32, tag::INT32, i32, |v| v);
fixed_arg!(i64, tag::INT64, i64, |v| v);
fixed_arg!(f32, tag::FLOAT32, f32, |v| v);
fixed_arg!(f64, tag::FLOAT64, f64, |v| v);
fixed_arg!(Date, tag::DATE, i32, Date);
fixed_arg!(Timestamp, tag::TIMESTAMP, i64, Timestamp);

impl<'a> Arg<'a> for bool {
    const TYPE: u32 = tag::BOOLEAN;
    type View = Column<'a>;
    fn view(col: &Column<'a>, index: usize, name: &str) -> Result<Column<'a>, String> {
        col.check(tag::BOOLEAN, index, name)?;
        if col.data.len() * 8 < col.rows {
            return Err("a boolean column is too short".into());
        }
        Ok(*col)
    }
    #[inline]
    fn get(col: &Column<'a>, row: usize) -> Option<bool> {
        if col.is_valid(row) {
            Some(col.data[row >> 3] & (1 << (row & 7)) != 0)
        } else {
            None
        }
    }
}

fn variable<'a>(col: &Column<'a>, want: u32, index: usize, name: &str) -> Result<Column<'a>, String> {
    col.check(want, index, name)?;
    if col.offsets.len() != col.rows + 1 {
        return Err("a string column has the wrong number of offsets".into());
    }
    Ok(*col)
}

#[inline]
fn bytes_at<'a>(col: &Column<'a>, row: usize) -> Option<&'a [u8]> {
    if !col.is_valid(row) {
        return None;
    }
    let (start, end) = (col.offsets[row] as usize, col.offsets[row + 1] as usize);
    col.data.get(start..end)
}

impl<'a> Arg<'a> for &'a [u8] {
    const TYPE: u32 = tag::BINARY;
    type View = Column<'a>;
    fn view(col: &Column<'a>, index: usize, name: &str) -> Result<Column<'a>, String> {
        variable(col, tag::BINARY, index, name)
    }
    #[inline]
    fn get(col: &Column<'a>, row: usize) -> Option<&'a [u8]> {
        bytes_at(col, row)
    }
}

impl<'a> Arg<'a> for &'a str {
    const TYPE: u32 = tag::UTF8;
    type View = Column<'a>;
    fn view(col: &Column<'a>, index: usize, name: &str) -> Result<Column<'a>, String> {
        let col = variable(col, tag::UTF8, index, name)?;
        // Checked once per batch, so each row's slice can be taken as it is.
        core::str::from_utf8(col.data).map_err(|e| format!("argument {}: {}", index + 1, e))?;
        Ok(col)
    }
    #[inline]
    fn get(col: &Column<'a>, row: usize) -> Option<&'a str> {
        bytes_at(col, row).and_then(|b| core::str::from_utf8(b).ok())
    }
}

impl<'a, T: Arg<'a>> Arg<'a> for Option<T> {
    const TYPE: u32 = T::TYPE;
    type View = T::View;
    fn view(col: &Column<'a>, index: usize, name: &str) -> Result<T::View, String> {
        T::view(col, index, name)
    }
    #[inline]
    fn get(view: &T::View, row: usize) -> Option<Option<T>> {
        Some(T::get(view, row))
    }
}

/// The result column being built.
pub struct Out {
    pub(crate) ty: u32,
    pub(crate) rows: usize,
    pub(crate) validity: Vec<u8>,
    pub(crate) any_null: bool,
    pub(crate) offsets: Vec<i32>,
    pub(crate) data: Vec<u8>,
    pub(crate) bits: usize,
}

impl Out {
    pub fn new(ty: u32, rows: usize) -> Out {
        let variable = ty == tag::UTF8 || ty == tag::BINARY;
        let width = width(ty);
        let mut offsets = Vec::new();
        if variable {
            offsets.reserve(rows + 1);
            offsets.push(0);
        }
        Out {
            ty,
            rows: 0,
            validity: Vec::with_capacity((rows + 7) / 8),
            any_null: false,
            offsets,
            data: Vec::with_capacity(if variable { rows * 16 } else { rows * width }),
            bits: 0,
        }
    }

    fn mark(&mut self, valid: bool) {
        let row = self.rows;
        if row & 7 == 0 {
            self.validity.push(0);
        }
        if valid {
            let last = self.validity.len() - 1;
            self.validity[last] |= 1 << (row & 7);
        } else {
            self.any_null = true;
        }
        self.rows += 1;
    }

    /// Appends a null row.
    pub fn push_null(&mut self) {
        self.mark(false);
        match self.ty {
            tag::UTF8 | tag::BINARY => {
                let end = self.data.len() as i32;
                self.offsets.push(end);
            }
            tag::BOOLEAN => self.push_bit(false),
            ty => {
                let n = self.data.len() + width(ty);
                self.data.resize(n, 0);
            }
        }
    }

    fn push_bit(&mut self, v: bool) {
        if self.bits & 7 == 0 {
            self.data.push(0);
        }
        if v {
            let last = self.data.len() - 1;
            self.data[last] |= 1 << (self.bits & 7);
        }
        self.bits += 1;
    }

    #[inline]
    pub fn push_fixed(&mut self, bytes: &[u8]) {
        self.mark(true);
        self.data.extend_from_slice(bytes);
    }

    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.data.len() + bytes.len() > i32::MAX as usize {
            return Err("the result column is larger than 2 GiB".into());
        }
        self.mark(true);
        self.data.extend_from_slice(bytes);
        let end = self.data.len() as i32;
        self.offsets.push(end);
        Ok(())
    }

    pub fn push_bool(&mut self, v: bool) {
        self.mark(true);
        self.push_bit(v);
    }
}

fn width(ty: u32) -> usize {
    match ty {
        tag::INT32 | tag::FLOAT32 | tag::DATE => 4,
        tag::INT64 | tag::FLOAT64 | tag::TIMESTAMP => 8,
        _ => 0,
    }
}

/// A type a function can return.
pub trait Ret {
    const TYPE: u32;
    fn append_to(self, out: &mut Out) -> Result<(), String>;
}

macro_rules! fixed_ret {
    ($t:ty, $tag:expr, |$v:ident| $bytes:expr) => {
        impl Ret for $t {
            const TYPE: u32 = $tag;
            #[inline]
            fn append_to(self, out: &mut Out) -> Result<(), String> {
                let $v = self;
                out.push_fixed(&$bytes);
                Ok(())
            }
        }
    };
}

fixed_ret!(i32, tag::INT32, |v| v.to_le_bytes());
fixed_ret!(i64, tag::INT64, |v| v.to_le_bytes());
fixed_ret!(f32, tag::FLOAT32, |v| v.to_le_bytes());
fixed_ret!(f64, tag::FLOAT64, |v| v.to_le_bytes());
fixed_ret!(Date, tag::DATE, |v| v.0.to_le_bytes());
fixed_ret!(Timestamp, tag::TIMESTAMP, |v| v.0.to_le_bytes());

impl Ret for bool {
    const TYPE: u32 = tag::BOOLEAN;
    fn append_to(self, out: &mut Out) -> Result<(), String> {
        out.push_bool(self);
        Ok(())
    }
}

impl Ret for String {
    const TYPE: u32 = tag::UTF8;
    fn append_to(self, out: &mut Out) -> Result<(), String> {
        out.push_bytes(self.as_bytes())
    }
}

impl<'a> Ret for &'a str {
    const TYPE: u32 = tag::UTF8;
    fn append_to(self, out: &mut Out) -> Result<(), String> {
        out.push_bytes(self.as_bytes())
    }
}

impl Ret for Vec<u8> {
    const TYPE: u32 = tag::BINARY;
    fn append_to(self, out: &mut Out) -> Result<(), String> {
        out.push_bytes(&self)
    }
}

impl<T: Ret> Ret for Option<T> {
    const TYPE: u32 = T::TYPE;
    fn append_to(self, out: &mut Out) -> Result<(), String> {
        match self {
            Some(v) => v.append_to(out),
            None => {
                out.push_null();
                Ok(())
            }
        }
    }
}

impl<T: Ret, E: core::fmt::Display> Ret for Result<T, E> {
    const TYPE: u32 = T::TYPE;
    fn append_to(self, out: &mut Out) -> Result<(), String> {
        match self {
            Ok(v) => v.append_to(out),
            Err(e) => Err(e.to_string()),
        }
    }
}
