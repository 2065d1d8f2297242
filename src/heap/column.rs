//! Per-object arrays that need not live in anonymous memory.
//!
//! A [`Column<T>`] is a fixed-length array of plain integers with one of three homes:
//!
//! - an ordinary `Vec` (small arrays, tests);
//! - a *scratch file*: a file created in the cache directory, mapped shared and unlinked at once,
//!   so the kernel can write its pages back to disk under memory pressure and nothing is left
//!   behind even if the process is killed. This is how the index of a dump larger than free
//!   memory is built: its pages are file-backed, not anonymous;
//! - a read-only section of the mapped index cache (a cache hit maps the arrays, copying nothing).
//!
//! All three deref to `[T]`. Writing to a cache-backed column copies it first (copy on write).
//!
//! [`Scratch`] decides where new columns go: arrays of at least [`Scratch::min_file_bytes`] bytes
//! go to a scratch file when a directory was given, smaller ones to the heap.

use memmap2::{Mmap, MmapMut};
use std::fmt;
use std::fs::{self, OpenOptions};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Plain integers: no padding, every bit pattern valid, so they can be viewed as bytes and back.
///
/// # Safety
/// Implement only for types for which any byte pattern of `size_of::<T>()` bytes is a valid value
/// and that have no padding.
pub unsafe trait Pod: Copy + Default + Send + Sync + 'static {}
// SAFETY: primitive integers have no padding and no invalid bit patterns.
unsafe impl Pod for u8 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}

/// The bytes of a slice of plain integers (native endianness).
pub fn bytes_of<T: Pod>(v: &[T]) -> &[u8] {
    // SAFETY: `T: Pod` has no padding, so every byte of the slice is initialised; u8 has
    // alignment 1 and the length is the slice's size in bytes.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

enum Home<T> {
    Heap(Vec<T>),
    /// A shared mapping of an unlinked scratch file.
    File(MmapMut),
    /// `len` elements at byte `offset` of a read-only mapping (offset aligned for `T`).
    Mapped(Arc<Mmap>, usize),
}

/// A fixed-length array of plain integers in memory, in a scratch file or in the mapped cache.
pub struct Column<T: Pod> {
    home: Home<T>,
    len: usize,
    /// For heap columns counted against a [`Scratch`] budget: the counter and the bytes to give
    /// back on drop.
    budget: Option<(Arc<AtomicU64>, u64)>,
    _t: PhantomData<T>,
}

impl<T: Pod> Drop for Column<T> {
    fn drop(&mut self) {
        if let Some((live, bytes)) = self.budget.take() {
            live.fetch_sub(bytes, Ordering::Relaxed);
        }
    }
}

impl<T: Pod> Column<T> {
    /// An empty column.
    pub fn new() -> Column<T> {
        Vec::new().into()
    }

    /// A view of `len` elements at byte `offset` of a read-only mapping; `None` if out of bounds
    /// or misaligned.
    pub fn mapped(map: Arc<Mmap>, offset: usize, len: usize) -> Option<Column<T>> {
        let size = len.checked_mul(std::mem::size_of::<T>())?;
        if offset.checked_add(size)? > map.len()
            || !(map.as_ptr() as usize + offset).is_multiple_of(std::mem::align_of::<T>())
        {
            return None;
        }
        Some(Column {
            home: Home::Mapped(map, offset),
            len,
            budget: None,
            _t: PhantomData,
        })
    }

    /// Whether the column lives in a file (scratch or cache) rather than anonymous memory.
    pub fn is_file_backed(&self) -> bool {
        !matches!(self.home, Home::Heap(_))
    }

    /// Bytes the array takes.
    pub fn byte_len(&self) -> usize {
        self.len * std::mem::size_of::<T>()
    }

    /// Shortens the column to `len` elements (a scratch file keeps its size; the tail pages it
    /// never touched cost nothing).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            // The heap keeps its capacity: shrinking would copy the array and double it for a moment.
            if let Home::Heap(v) = &mut self.home {
                v.truncate(len);
            }
            self.len = len;
        }
    }

    /// Moves the column into an ordinary `Vec` (copies file-backed data).
    pub fn into_vec(mut self) -> Vec<T> {
        let len = self.len;
        match std::mem::replace(&mut self.home, Home::Heap(Vec::new())) {
            Home::Heap(mut v) => {
                v.truncate(len);
                v
            }
            other => {
                self.home = other;
                self.deref().to_vec()
            }
        }
    }
}

impl<T: Pod> Default for Column<T> {
    fn default() -> Self {
        Column::new()
    }
}

impl<T: Pod> From<Vec<T>> for Column<T> {
    fn from(v: Vec<T>) -> Self {
        Column {
            len: v.len(),
            home: Home::Heap(v),
            budget: None,
            _t: PhantomData,
        }
    }
}

impl<T: Pod> Deref for Column<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match &self.home {
            Home::Heap(v) => &v[..self.len],
            // SAFETY: the mapping holds at least `len * size_of::<T>()` bytes, page-aligned
            // (checked in `Scratch::column`), valid for any bit pattern (`T: Pod`); it lives as
            // long as `self`. Nothing else maps the unlinked file.
            Home::File(m) => unsafe {
                std::slice::from_raw_parts(m.as_ptr() as *const T, self.len)
            },
            // SAFETY: bounds and alignment checked in `Column::mapped`; the map is kept alive by
            // the Arc. The cache file is only ever replaced by rename, never written in place,
            // so the mapped bytes do not change under us.
            Home::Mapped(m, off) => unsafe {
                std::slice::from_raw_parts(m.as_ptr().add(*off) as *const T, self.len)
            },
        }
    }
}

impl<T: Pod> DerefMut for Column<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        if let Home::Mapped(..) = self.home {
            // Copy on write: the cache stays read-only.
            self.home = Home::Heap(self.deref().to_vec());
        }
        match &mut self.home {
            Home::Heap(v) => &mut v[..self.len],
            // SAFETY: as in `deref`, and `&mut self` gives exclusive access to the mapping.
            Home::File(m) => unsafe {
                std::slice::from_raw_parts_mut(m.as_mut_ptr() as *mut T, self.len)
            },
            Home::Mapped(..) => unreachable!("replaced above"),
        }
    }
}

impl<'a, T: Pod> IntoIterator for &'a Column<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Pod> Clone for Column<T> {
    fn clone(&self) -> Self {
        self.deref().to_vec().into()
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Pod + PartialEq> PartialEq for Column<T> {
    fn eq(&self, other: &Self) -> bool {
        self.deref() == other.deref()
    }
}

impl<T: Pod + PartialEq> PartialEq<Vec<T>> for Column<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self.deref() == other.as_slice()
    }
}

impl<T: Pod + PartialEq, const N: usize> PartialEq<[T; N]> for Column<T> {
    fn eq(&self, other: &[T; N]) -> bool {
        self.deref() == other.as_slice()
    }
}

/// Where new columns go: the heap, or scratch files in a directory.
///
/// With a directory, large columns go to files, except *hot* ones (randomly written scratch of
/// the dominator computation, see [`hot_zeroed`](Self::hot_zeroed)) while the hot columns alive
/// stay within [`heap_budget`](Self::heap_budget) bytes: first-touch faults and write-back of
/// file pages cost several times what anonymous pages do, and at several GB of dirty file pages
/// the kernel throttles the writer to disk speed.
#[derive(Debug, Default)]
pub struct Scratch {
    dir: Option<PathBuf>,
    /// Arrays smaller than this stay on the heap.
    pub min_file_bytes: usize,
    /// Hot columns may take this many bytes of the heap at a time (with a directory).
    pub heap_budget: u64,
    /// Bytes currently handed out in scratch files (for reports and tests).
    file_bytes: AtomicU64,
    /// Bytes of hot heap columns alive.
    heap_live: Arc<AtomicU64>,
    /// The most `heap_live` reached.
    heap_peak: AtomicU64,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Scratch {
    /// Every column on the heap.
    pub fn memory() -> Scratch {
        Scratch::default()
    }

    /// Large columns (8 MiB and more) in scratch files under `dir` (created if needed).
    pub fn in_dir(dir: &Path) -> Scratch {
        Scratch {
            dir: Some(dir.to_path_buf()),
            min_file_bytes: 8 << 20,
            ..Scratch::default()
        }
    }

    /// Sets [`heap_budget`](Self::heap_budget).
    pub fn with_heap_budget(mut self, bytes: u64) -> Scratch {
        self.heap_budget = bytes;
        self
    }

    /// Total bytes of scratch files created so far.
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes.load(Ordering::Relaxed)
    }

    /// The most bytes hot heap columns took at once.
    pub fn heap_peak(&self) -> u64 {
        self.heap_peak.load(Ordering::Relaxed)
    }

    /// A zeroed column that is read and written at random: on the heap while the budget allows
    /// (always without a directory), else in a scratch file.
    pub fn hot_zeroed<T: Pod>(&self, len: usize) -> Column<T> {
        let bytes = (len * std::mem::size_of::<T>()) as u64;
        if self.dir.is_some() && (bytes as usize) >= self.min_file_bytes.max(1) {
            let live = self.heap_live.fetch_add(bytes, Ordering::Relaxed) + bytes;
            if live > self.heap_budget {
                self.heap_live.fetch_sub(bytes, Ordering::Relaxed);
                return self.zeroed(len);
            }
            self.heap_peak.fetch_max(live, Ordering::Relaxed);
            let mut c: Column<T> = vec![T::default(); len].into();
            c.budget = Some((self.heap_live.clone(), bytes));
            return c;
        }
        self.zeroed(len)
    }

    /// [`hot_zeroed`](Self::hot_zeroed) holding `value` everywhere.
    pub fn hot_filled<T: Pod>(&self, len: usize, value: T) -> Column<T> {
        let mut c = self.hot_zeroed(len);
        if !value_is_zero(value) {
            c.fill(value);
        }
        c
    }

    /// A zeroed column of `len` elements. Falls back to the heap when the scratch file cannot
    /// be made (full disk, read-only directory): slower to fail later than to fail now.
    pub fn zeroed<T: Pod>(&self, len: usize) -> Column<T> {
        let bytes = len * std::mem::size_of::<T>();
        if bytes >= self.min_file_bytes.max(1) {
            if let Some(dir) = &self.dir {
                if let Ok(c) = self.file_column(dir, len, bytes) {
                    return c;
                }
            }
        }
        vec![T::default(); len].into()
    }

    /// A column holding `value` everywhere.
    pub fn filled<T: Pod>(&self, len: usize, value: T) -> Column<T> {
        let mut c = self.zeroed(len);
        if value_is_zero(value) {
            return c;
        }
        c.fill(value);
        c
    }

    /// A column with the contents of `v` (moved when it stays on the heap).
    pub fn from_vec<T: Pod>(&self, v: Vec<T>) -> Column<T> {
        if std::mem::size_of_val(v.as_slice()) < self.min_file_bytes.max(1) || self.dir.is_none() {
            return v.into();
        }
        let mut c = self.zeroed(v.len());
        c.copy_from_slice(&v);
        c
    }

    fn file_column<T: Pod>(
        &self,
        dir: &Path,
        len: usize,
        bytes: usize,
    ) -> std::io::Result<Column<T>> {
        fs::create_dir_all(dir)?;
        let path = dir.join(format!(
            ".oomsleuth-scratch-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        // Unlink at once: the mapping keeps the data, and a killed process leaves nothing behind.
        let _ = fs::remove_file(&path);
        // A sparse file: pages cost disk space only once written.
        file.set_len(bytes.max(1) as u64)?;
        // SAFETY: the file was just created by us (create_new) and is unlinked, so no other
        // process can open, truncate or modify it; the mapping is the only access to it. A full
        // disk could still turn a write into SIGBUS, as with any writable file mapping.
        let map = unsafe { MmapMut::map_mut(&file) }?;
        if !(map.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>()) {
            return Err(std::io::Error::other("misaligned mapping"));
        }
        self.file_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        Ok(Column {
            home: Home::File(map),
            len,
            budget: None,
            _t: PhantomData,
        })
    }
}

fn value_is_zero<T: Pod>(v: T) -> bool {
    bytes_of(std::slice::from_ref(&v)).iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_columns_read_back_and_leave_no_file() {
        let dir = std::env::temp_dir().join(format!("oomsleuth-col-{}", std::process::id()));
        let mut s = Scratch::in_dir(&dir);
        s.min_file_bytes = 0;
        let mut c: Column<u64> = s.filled(1000, 7);
        assert!(c.is_file_backed());
        c[999] = 9;
        assert_eq!(c.iter().sum::<u64>(), 7 * 999 + 9);
        let v = s.from_vec(vec![1u32, 2, 3]);
        assert_eq!(v, vec![1, 2, 3]);
        assert!(
            fs::read_dir(&dir).unwrap().next().is_none(),
            "scratch files are unlinked"
        );
        let _ = fs::remove_dir(&dir);
        let m: Column<u32> = Scratch::memory().filled(3, u32::MAX);
        assert!(!m.is_file_backed());
        assert_eq!(m, [u32::MAX; 3]);
    }
}
