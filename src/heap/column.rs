//! Per-object arrays that need not live in anonymous memory.
//!
//! A [`Column<T>`] is a fixed-length array of plain integers with one of three homes:
//!
//! - an ordinary `Vec` (small arrays, tests);
//! - a *scratch file*: a file created in the cache directory, mapped shared and unlinked at once,
//!   so the kernel can write its pages back to disk under memory pressure and nothing is left
//!   behind even if the process is killed. This is how the index of a dump larger than free
//!   memory is built: its pages are file-backed, not anonymous;
//! - a read-only section of the mapped index cache (a cache hit maps the arrays, copying nothing);
//! - a region of the index cache being built ([`KeepFile`]): the arrays the cache keeps are
//!   written in place while the index is built, so saving the cache copies nothing either.
//!
//! All three deref to `[T]`. Writing to a cache-backed column copies it first (copy on write).
//!
//! [`Scratch`] decides where new columns go: arrays of at least [`Scratch::min_file_bytes`] bytes
//! go to a scratch file when a directory was given, smaller ones to the heap.

use crate::formats::files;
use memmap2::{Mmap, MmapMut, MmapOptions};
use std::fmt;
use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// An anonymous mapping in transparent huge pages where the system allows them.
    Anon(MmapMut),
    /// A shared mapping of a region of a [`KeepFile`], at this byte offset.
    Kept(MmapMut, Arc<KeepFile>, u64),
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

    /// The byte offset of this column in `keep`, if it is a region of that file.
    pub fn kept_in(&self, keep: &KeepFile) -> Option<u64> {
        match self.home {
            Home::Kept(_, ref k, offset) if k.id == keep.id => Some(offset),
            _ => None,
        }
    }

    /// Makes a column kept in `keep` read-only once the cache is saved: the cache's bytes must
    /// never change again (a later write copies the column to the heap first). The region is
    /// mapped again read-only (the same pages of the page cache); if that fails, the column
    /// stays as it was.
    pub fn seal(&mut self, keep: &KeepFile) {
        let Some(offset) = self.kept_in(keep) else {
            return;
        };
        let bytes = self.byte_len();
        // SAFETY: the file is the saved cache, written only through this process's mappings,
        // which are no longer written (this is the last step of saving); the region is in
        // bounds (it was mapped writable before).
        let ro = unsafe { MmapOptions::new().offset(offset).len(bytes).map(&keep.file) };
        if let Ok(ro) = ro {
            self.home = Home::Mapped(Arc::new(ro), 0);
        }
    }

    /// Bytes the array takes.
    pub fn byte_len(&self) -> usize {
        self.len * std::mem::size_of::<T>()
    }

    /// Shortens the column to `len` elements (a scratch file keeps its size; the tail pages it
    /// never touched cost nothing).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            // The last region of a keep file gives its tail back.
            if let Home::Kept(_, keep, offset) = &self.home {
                let size = std::mem::size_of::<T>() as u64;
                keep.release_tail(*offset, self.len as u64 * size, len as u64 * size);
            }
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
            // SAFETY: as for `File`; the anonymous mapping is private to this column.
            Home::Anon(m) => unsafe {
                std::slice::from_raw_parts(m.as_ptr() as *const T, self.len)
            },
            // SAFETY: as for `File`: the region holds `len` elements, its offset is a multiple
            // of the page size, and only this column maps it.
            Home::Kept(m, ..) => unsafe {
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
            Home::File(m) | Home::Anon(m) | Home::Kept(m, ..) => unsafe {
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
    /// The index cache being built, if any: [`kept_zeroed`](Self::kept_zeroed) columns go there.
    keep: Mutex<Option<Arc<KeepFile>>>,
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
            let mut c: Column<T> = anonymous(len, bytes as usize);
            c.budget = Some((self.heap_live.clone(), bytes));
            return c;
        }
        self.zeroed(len)
    }

    /// Whether a hot column of `bytes` would be on the heap now (rather than in a file).
    pub fn hot_fits(&self, bytes: u64) -> bool {
        self.dir.is_none()
            || (bytes as usize) < self.min_file_bytes.max(1)
            || self.heap_live.load(Ordering::Relaxed) + bytes <= self.heap_budget
    }

    /// [`hot_zeroed`](Self::hot_zeroed) holding `value` everywhere.
    pub fn hot_filled<T: Pod>(&self, len: usize, value: T) -> Column<T> {
        let mut c = self.hot_zeroed(len);
        if !value_is_zero(value) {
            c.fill(value);
        }
        c
    }

    /// From now on, columns the index cache keeps are regions of `keep`.
    pub fn keep_in(&self, keep: Arc<KeepFile>) {
        *self.keep.lock().unwrap_or_else(|e| e.into_inner()) = Some(keep);
    }

    /// Stops placing columns in the keep file; returns it (to resume with [`keep_in`]).
    ///
    /// [`keep_in`]: Self::keep_in
    pub fn stop_keeping(&self) -> Option<Arc<KeepFile>> {
        self.keep.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// A zeroed column that the index cache will keep: a region of the cache file being built
    /// when there is one (see [`KeepFile`]), else as [`zeroed`](Self::zeroed). Small columns
    /// stay on the heap and are copied into the cache when it is saved.
    pub fn kept_zeroed<T: Pod>(&self, len: usize) -> Column<T> {
        let bytes = len * std::mem::size_of::<T>();
        let keep = self.keep.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(keep) = keep {
            if bytes > 0 && bytes >= self.min_file_bytes {
                if let Ok(map) = keep.region(bytes) {
                    self.file_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
                    return map.into_column(len);
                }
            }
        }
        self.zeroed(len)
    }

    /// `col` as a column the index cache keeps: copied into a region of the cache file being
    /// built when there is one, else returned as it is. For arrays written at random, which are
    /// faster to fill in a hot column and copy once than to fill in file pages.
    pub fn kept_copy<T: Pod>(&self, col: Column<T>) -> Column<T> {
        let keeping = self
            .keep
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some();
        if !keeping {
            return col;
        }
        let mut kept = self.kept_zeroed(col.len());
        kept.copy_from_slice(&col);
        kept
    }

    /// [`kept_zeroed`](Self::kept_zeroed) holding `value` everywhere.
    pub fn kept_filled<T: Pod>(&self, len: usize, value: T) -> Column<T> {
        let mut c = self.kept_zeroed(len);
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
        // Owner-only, under a random name, never through a link (see `formats::files`).
        let (file, path) = files::create_unique(dir, ".oomsleuth-scratch-", 0o600)?;
        // Unlink at once: the mapping keeps the data, and a killed process leaves nothing behind.
        let _ = fs::remove_file(&path);
        file.set_len(bytes.max(1) as u64)?;
        // Reserved on disk now: a full file system fails here (and the column goes to the
        // heap), not later as SIGBUS on a write through the mapping.
        files::reserve(&file, 0, bytes as u64)?;
        // SAFETY: the file was just created by us (create_new) and is unlinked, so no other
        // process can open, truncate or modify it; the mapping is the only access to it. Its
        // blocks are reserved, so writes do not fault when the disk fills.
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

/// The index cache file while it is being built, under a temporary name in the cache's
/// directory. The big arrays the cache keeps are allocated as regions of it
/// ([`Scratch::kept_zeroed`]) and filled in place; saving appends the small sections, writes the
/// header into the space reserved at the start and renames the file into place. Until then a
/// reader never sees it, and dropping it unsaved deletes it.
#[derive(Debug)]
pub struct KeepFile {
    file: File,
    path: PathBuf,
    id: u64,
    /// Where the next region starts (page-aligned) = the file's length so far.
    end: Mutex<u64>,
    saved: AtomicBool,
}

/// Regions start on this boundary: a multiple of the page size of every platform we run on
/// (mappings of a region need no adjustment then, and every array type is aligned).
const REGION_ALIGN: u64 = 64 << 10;

/// A writable mapping of a fresh region of a [`KeepFile`].
pub struct Region {
    map: MmapMut,
    keep: Arc<KeepFile>,
    offset: u64,
}

impl Region {
    fn into_column<T: Pod>(self, len: usize) -> Column<T> {
        Column {
            home: Home::Kept(self.map, self.keep, self.offset),
            len,
            budget: None,
            _t: PhantomData,
        }
    }
}

impl KeepFile {
    /// Creates `path` (which must not exist, not even as a symbolic link) with permissions
    /// `mode`, with `header` bytes reserved at the start.
    pub fn create(path: &Path, header: u64, mode: u32) -> std::io::Result<Arc<KeepFile>> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = files::create_exclusive(path, mode)?;
        let end = header.div_ceil(REGION_ALIGN) * REGION_ALIGN;
        file.set_len(end)?;
        Ok(Arc::new(KeepFile {
            file,
            path: path.to_path_buf(),
            id: SEQ.fetch_add(1, Ordering::Relaxed),
            end: Mutex::new(end),
            saved: AtomicBool::new(false),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Maps `bytes` new zeroed bytes at the end of the file (sparse until written).
    fn region(self: &Arc<Self>, bytes: usize) -> std::io::Result<Region> {
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        // Aligned even after an append (regions come first in practice).
        let offset = end.div_ceil(REGION_ALIGN) * REGION_ALIGN;
        let new_end = (offset + bytes as u64).div_ceil(REGION_ALIGN) * REGION_ALIGN;
        self.file.set_len(new_end)?;
        // Reserved on disk first (see `Scratch::file_column`): a full disk is an error here.
        if let Err(e) = files::reserve(&self.file, offset, bytes as u64) {
            let _ = self.file.set_len(*end);
            return Err(e);
        }
        // SAFETY: the file was created by us (create_new) under a temporary name that nothing
        // else opens; each region is mapped by exactly one column, and its blocks are reserved.
        let map = unsafe {
            MmapOptions::new()
                .offset(offset)
                .len(bytes)
                .map_mut(&self.file)
        }?;
        *end = new_end;
        Ok(Region {
            map,
            keep: self.clone(),
            offset,
        })
    }

    /// A region of `old` bytes at `offset` now needs only `new`: if it is the last region, the
    /// file ends after `new` bytes of it (an array allocated at an upper bound gives back what
    /// it did not use). The mapping keeps its size; the bytes past `new` are never touched.
    fn release_tail(&self, offset: u64, old: u64, new: u64) {
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        let align = |b: u64| b.div_ceil(REGION_ALIGN) * REGION_ALIGN;
        if *end == align(offset + old) {
            let new_end = align(offset + new);
            if self.file.set_len(new_end).is_ok() {
                *end = new_end;
            }
        }
    }

    /// Appends `bytes` at the next multiple of `align` past the end; returns their offset.
    pub fn append(&self, bytes: &[u8], align: u64) -> std::io::Result<u64> {
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        let offset = end.div_ceil(align) * align;
        let mut f = &self.file;
        f.seek(SeekFrom::Start(offset))?;
        f.write_all(bytes)?;
        *end = offset + bytes.len() as u64;
        Ok(offset)
    }

    /// Writes `bytes` at `offset` (the reserved header).
    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let _end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        let mut f = &self.file;
        f.seek(SeekFrom::Start(offset))?;
        f.write_all(bytes)
    }

    /// `f` of the file's contents so far (mapped read-only).
    pub fn with_contents<R>(&self, f: impl FnOnce(&[u8]) -> R) -> std::io::Result<R> {
        let len = self.size() as usize;
        if len == 0 {
            return Ok(f(&[]));
        }
        // SAFETY: our own temporary file; its regions are no longer written once the cache
        // is being saved, and the mapping lives only for this call.
        let map = unsafe { MmapOptions::new().len(len).map(&self.file) }?;
        Ok(f(&map))
    }

    /// The file's length so far.
    pub fn size(&self) -> u64 {
        *self.end.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cuts the file at the current end (after the last append) and renames it to `to`.
    pub fn save_as(&self, to: &Path) -> std::io::Result<()> {
        self.file.set_len(self.size())?;
        files::rename_into_place(&self.path, to)?;
        self.saved.store(true, Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for KeepFile {
    fn drop(&mut self) {
        if !self.saved.load(Ordering::Relaxed) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A zeroed column in anonymous memory, asking for transparent huge pages: the hot columns are
/// read and written at random over hundreds of megabytes, where 4 KiB pages cost a TLB miss
/// (a page walk) on nearly every access. Systems with THP set to `madvise` (the default of
/// most distributions) give huge pages only to mappings that ask.
fn anonymous<T: Pod>(len: usize, bytes: usize) -> Column<T> {
    match MmapMut::map_anon(bytes.max(1)) {
        Ok(m) => {
            #[cfg(target_os = "linux")]
            let _ = m.advise(memmap2::Advice::HugePage);
            Column {
                home: Home::Anon(m),
                len,
                budget: None,
                _t: PhantomData,
            }
        }
        Err(_) => vec![T::default(); len].into(),
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

    #[test]
    fn kept_columns_are_regions_of_the_keep_file() {
        let dir = std::env::temp_dir().join(format!("oomsleuth-keep-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut s = Scratch::in_dir(&dir);
        s.min_file_bytes = 0;
        let tmp = dir.join("cache.tmp");
        let keep = KeepFile::create(&tmp, 100, 0o600).unwrap();
        s.keep_in(keep.clone());
        let mut a: Column<u64> = s.kept_filled(10_000, 3);
        let b: Column<u32> = s.kept_copy(vec![5u32; 7].into());
        s.stop_keeping();
        let c: Column<u32> = s.kept_zeroed(4); // not keeping any more: an ordinary column
        a[9_999] = 4;
        let at_a = a.kept_in(&keep).expect("a is a region");
        let at_b = b.kept_in(&keep).expect("b is a region");
        assert!(c.kept_in(&keep).is_none());
        assert!(at_a >= 100 && at_a.is_multiple_of(REGION_ALIGN) && at_b > at_a);
        let end = keep.append(b"tail", 64).unwrap();
        assert!(end >= at_b + 28);
        keep.write_at(0, b"head").unwrap();
        let saved = dir.join("cache");
        keep.save_as(&saved).unwrap();
        a.seal(&keep);
        assert!(
            a.kept_in(&keep).is_none(),
            "sealed: a read-only mapping now"
        );
        assert_eq!(a[0], 3);
        assert_eq!(a[9_999], 4);
        a[0] = 9; // copy on write: the saved file does not change
        let bytes = fs::read(&saved).unwrap();
        assert_eq!(&bytes[..4], b"head");
        let word =
            |at: u64| u64::from_le_bytes(bytes[at as usize..at as usize + 8].try_into().unwrap());
        assert_eq!(word(at_a), 3);
        assert_eq!(word(at_a + 8 * 9_999), 4);
        assert_eq!(&bytes[end as usize..], b"tail");
        drop(keep);
        assert!(saved.exists(), "a saved file stays");

        let tmp2 = dir.join("other.tmp");
        let unsaved = KeepFile::create(&tmp2, 0, 0o600).unwrap();
        assert!(tmp2.exists());
        drop(unsaved);
        assert!(!tmp2.exists(), "an unsaved keep file is removed");
        let _ = fs::remove_dir_all(&dir);
    }
}
