//! Maps object ranks to object ids in an HPROF dump, for comparing with peers that name objects by
//! rank: `hprof-analyzer`'s `obj_index_1based` is 1 + the object's position among the sorted,
//! distinct ids of every instance, object array, primitive array and class dump in the file.
//!
//! ```text
//! cargo run --release --example hprof_ranks -- DUMP RANK...      # prints `RANK 0xID` per line
//! ```
//!
//! RANK is 0-based (the peer's `obj_index_1based - 1`). Standard library only, and independent of
//! oomsleuth's reader, so that it checks oomsleuth's numbering rather than repeating it.

use std::fs::File;
use std::io::{BufReader, Read};

/// A buffered reader of big-endian HPROF values that counts what it consumed.
struct In<R: Read> {
    r: R,
    id_size: usize,
}

impl<R: Read> In<R> {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }
    fn u8(&mut self) -> std::io::Result<u8> {
        Ok(self.bytes::<1>()?[0])
    }
    fn u16(&mut self) -> std::io::Result<u16> {
        Ok(u16::from_be_bytes(self.bytes()?))
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_be_bytes(self.bytes()?))
    }
    fn id(&mut self) -> std::io::Result<u64> {
        if self.id_size == 4 {
            Ok(self.u32()? as u64)
        } else {
            Ok(u64::from_be_bytes(self.bytes()?))
        }
    }
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        let copied = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())?;
        if copied != n {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// Bytes of a value of HPROF basic type `t`.
fn value_size(t: u8, id_size: usize) -> std::io::Result<u64> {
    Ok(match t {
        2 => id_size as u64,
        4 | 8 => 1,
        5 | 9 => 2,
        6 | 10 => 4,
        7 | 11 => 8,
        _ => return Err(std::io::Error::other(format!("bad basic type {t}"))),
    })
}

/// Reads the sub-records of one heap dump segment of `len` bytes, pushing object ids.
fn segment<R: Read>(inp: &mut In<R>, mut len: u64, ids: &mut Vec<u64>) -> std::io::Result<()> {
    let id = inp.id_size as u64;
    while len > 0 {
        let tag = inp.u8()?;
        let used = 1 + match tag {
            0xff => {
                inp.skip(id)?;
                id
            }
            0x01 => {
                inp.skip(2 * id)?;
                2 * id
            }
            0x02 | 0x03 => {
                inp.skip(id + 8)?;
                id + 8
            }
            0x04 | 0x06 => {
                inp.skip(id + 4)?;
                id + 4
            }
            0x05 | 0x07 | 0x89 | 0x8a | 0x8b | 0x8c | 0x8d | 0x90 => {
                inp.skip(id)?;
                id
            }
            0x08 | 0x8e => {
                inp.skip(id + 8)?;
                id + 8
            }
            0x20 => class_dump(inp, ids)?,
            0x21 => {
                ids.push(inp.id()?);
                inp.skip(4 + id)?;
                let n = inp.u32()? as u64;
                inp.skip(n)?;
                2 * id + 8 + n
            }
            0x22 => {
                ids.push(inp.id()?);
                inp.skip(4)?;
                let n = inp.u32()? as u64;
                inp.skip(id + n * id)?;
                2 * id + 8 + n * id
            }
            0x23 => {
                ids.push(inp.id()?);
                inp.skip(4)?;
                let n = inp.u32()? as u64;
                let t = inp.u8()?;
                let bytes = n * value_size(t, inp.id_size)?;
                inp.skip(bytes)?;
                id + 9 + bytes
            }
            t => {
                return Err(std::io::Error::other(format!(
                    "unknown sub-record 0x{t:02x}"
                )))
            }
        };
        len = len
            .checked_sub(used)
            .ok_or_else(|| std::io::Error::other("sub-record overruns its segment"))?;
    }
    Ok(())
}

/// A CLASS DUMP after its tag; returns the bytes it took (without the tag).
fn class_dump<R: Read>(inp: &mut In<R>, ids: &mut Vec<u64>) -> std::io::Result<u64> {
    let id = inp.id_size as u64;
    ids.push(inp.id()?);
    inp.skip(4 + 6 * id + 4)?;
    let mut used = id + 4 + 6 * id + 4;
    let constants = inp.u16()?;
    used += 2;
    for _ in 0..constants {
        inp.skip(2)?;
        let s = value_size(inp.u8()?, inp.id_size)?;
        inp.skip(s)?;
        used += 3 + s;
    }
    let statics = inp.u16()?;
    used += 2;
    for _ in 0..statics {
        inp.skip(id)?;
        let s = value_size(inp.u8()?, inp.id_size)?;
        inp.skip(s)?;
        used += id + 1 + s;
    }
    let fields = inp.u16()? as u64;
    inp.skip(fields * (id + 1))?;
    Ok(used + 2 + fields * (id + 1))
}

fn ids_of(path: &str) -> std::io::Result<Vec<u64>> {
    let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut header = Vec::new();
    loop {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        if b[0] == 0 {
            break;
        }
        header.push(b[0]);
    }
    let mut inp = In { r, id_size: 8 };
    inp.id_size = inp.u32()? as usize;
    inp.skip(8)?;
    let mut ids = Vec::new();
    loop {
        let tag = match inp.u8() {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        };
        inp.skip(4)?;
        let len = inp.u32()? as u64;
        if tag == 0x0c || tag == 0x1c {
            segment(&mut inp, len, &mut ids)?;
        } else {
            inp.skip(len)?;
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((dump, ranks)) = args.split_first() else {
        eprintln!("usage: hprof_ranks DUMP RANK...   (0-based ranks among the sorted object ids)");
        std::process::exit(2);
    };
    let ids = match ids_of(dump) {
        Ok(ids) => ids,
        Err(e) => {
            eprintln!("hprof_ranks: {dump}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("hprof_ranks: {} objects", ids.len());
    for r in ranks {
        match r.parse::<usize>().ok().and_then(|i| ids.get(i)) {
            Some(id) => println!("{r} 0x{id:x}"),
            None => println!("{r} -"),
        }
    }
}
