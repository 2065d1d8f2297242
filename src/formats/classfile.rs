//! Java class files (`0xCAFEBABE`, JVMS chapter 4), parsed just enough to tell a real class file from
//! four random bytes and to name it: magic, version, the whole constant pool, access flags, this/super
//! class, interfaces, and the lengths of fields, methods and attributes (which gives the file's size).
//!
//! Every read is bounds-checked: any bytes give `Ok` or an [`Error`], never a panic.

use std::fmt;

/// The class file's magic number.
pub const MAGIC: [u8; 4] = [0xCA, 0xFE, 0xBA, 0xBE];
/// JDK 1.1 wrote major version 45; JDK 25 writes 69. A few releases of headroom are accepted.
pub const MIN_MAJOR: u16 = 45;
pub const MAX_MAJOR: u16 = 75;

/// Why bytes are not a class file: the offset (from the magic) and what was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    pub offset: usize,
    pub what: &'static str,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a class file at +{}: {}", self.offset, self.what)
    }
}

impl std::error::Error for Error {}

/// What a scan needs from one class file. Names are in internal form (`java/lang/Object`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassFile<'a> {
    pub major: u16,
    pub minor: u16,
    pub name: &'a [u8],
    pub super_name: Option<&'a [u8]>,
    pub interfaces: Vec<&'a [u8]>,
    /// Bytes from the magic to the end of the last attribute.
    pub len: usize,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &'static str) -> Error {
        Error {
            offset: self.pos,
            what,
        }
    }
    fn u8(&mut self) -> Result<u8, Error> {
        let v = *self.b.get(self.pos).ok_or(self.err("truncated"))?;
        self.pos += 1;
        Ok(v)
    }
    fn u16(&mut self) -> Result<u16, Error> {
        let s = self
            .b
            .get(self.pos..self.pos + 2)
            .ok_or(self.err("truncated"))?;
        self.pos += 2;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, Error> {
        let s = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or(self.err("truncated"))?;
        self.pos += 4;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).ok_or(self.err("length overflow"))?;
        let s = self.b.get(self.pos..end).ok_or(self.err("truncated"))?;
        self.pos = end;
        Ok(s)
    }
}

/// Constant-pool tags (JVMS table 4.4-B).
mod tag {
    pub const UTF8: u8 = 1;
    pub const INTEGER: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const LONG: u8 = 5;
    pub const DOUBLE: u8 = 6;
    pub const CLASS: u8 = 7;
    pub const STRING: u8 = 8;
    pub const FIELDREF: u8 = 9;
    pub const METHODREF: u8 = 10;
    pub const INTERFACE_METHODREF: u8 = 11;
    pub const NAME_AND_TYPE: u8 = 12;
    pub const METHOD_HANDLE: u8 = 15;
    pub const METHOD_TYPE: u8 = 16;
    pub const DYNAMIC: u8 = 17;
    pub const INVOKE_DYNAMIC: u8 = 18;
    pub const MODULE: u8 = 19;
    pub const PACKAGE: u8 = 20;
}

#[derive(Clone, Copy)]
enum Entry<'a> {
    Utf8(&'a [u8]),
    Class(u16),
    Other,
    Unusable,
}

/// Parses the class file at the start of `b` (trailing bytes are ignored).
pub fn parse(b: &[u8]) -> Result<ClassFile<'_>, Error> {
    let mut r = Reader { b, pos: 0 };
    if r.bytes(4)? != MAGIC {
        return Err(r.err("no 0xCAFEBABE"));
    }
    let minor = r.u16()?;
    let major = r.u16()?;
    if !(MIN_MAJOR..=MAX_MAJOR).contains(&major) {
        return Err(r.err("major version out of range 45..75"));
    }
    let count = r.u16()? as usize;
    if count == 0 {
        return Err(r.err("empty constant pool"));
    }
    let mut pool: Vec<Entry<'_>> = Vec::with_capacity(count);
    pool.push(Entry::Unusable);
    while pool.len() < count {
        let t = r.u8()?;
        let e = match t {
            tag::UTF8 => {
                let n = r.u16()? as usize;
                Entry::Utf8(r.bytes(n)?)
            }
            tag::INTEGER | tag::FLOAT => {
                r.u32()?;
                Entry::Other
            }
            tag::LONG | tag::DOUBLE => {
                r.bytes(8)?;
                pool.push(Entry::Other);
                Entry::Unusable // takes two slots
            }
            tag::CLASS => Entry::Class(r.u16()?),
            tag::STRING | tag::METHOD_TYPE | tag::MODULE | tag::PACKAGE => {
                r.u16()?;
                Entry::Other
            }
            tag::FIELDREF
            | tag::METHODREF
            | tag::INTERFACE_METHODREF
            | tag::NAME_AND_TYPE
            | tag::DYNAMIC
            | tag::INVOKE_DYNAMIC => {
                r.u32()?;
                Entry::Other
            }
            tag::METHOD_HANDLE => {
                r.bytes(3)?;
                Entry::Other
            }
            _ => {
                return Err(Error {
                    offset: r.pos - 1,
                    what: "unknown constant-pool tag",
                })
            }
        };
        pool.push(e);
    }
    if pool.len() > count {
        return Err(r.err("long/double overruns the constant pool"));
    }
    let class_name = |r: &Reader<'_>, i: u16| -> Result<&[u8], Error> {
        match pool.get(i as usize) {
            Some(Entry::Class(n)) => match pool.get(*n as usize) {
                Some(Entry::Utf8(s)) => Ok(s),
                _ => Err(r.err("class entry does not point at a UTF-8 entry")),
            },
            _ => Err(r.err("index is not a class entry")),
        }
    };
    let _access = r.u16()?;
    let this = r.u16()?;
    let name = class_name(&r, this)?;
    if name.is_empty() {
        return Err(r.err("empty class name"));
    }
    let sup = r.u16()?;
    let super_name = if sup == 0 {
        None
    } else {
        Some(class_name(&r, sup)?)
    };
    let n = r.u16()?;
    let mut interfaces = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let i = r.u16()?;
        interfaces.push(class_name(&r, i)?);
    }
    // Fields and methods: access, name, descriptor, attributes.
    for _ in 0..2 {
        let members = r.u16()?;
        for _ in 0..members {
            r.bytes(6)?;
            skip_attributes(&mut r)?;
        }
    }
    skip_attributes(&mut r)?;
    Ok(ClassFile {
        major,
        minor,
        name,
        super_name,
        interfaces,
        len: r.pos,
    })
}

fn skip_attributes(r: &mut Reader<'_>) -> Result<(), Error> {
    let n = r.u16()?;
    for _ in 0..n {
        r.u16()?;
        let len = r.u32()? as usize;
        r.bytes(len)?;
    }
    Ok(())
}

/// A test helper and a reference for the layout: the smallest valid class file `name extends super
/// implements interfaces`, with no members.
pub fn minimal_class(name: &str, super_name: &str, interfaces: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&MAGIC);
    b.extend_from_slice(&0u16.to_be_bytes());
    b.extend_from_slice(&55u16.to_be_bytes()); // Java 11
    let names: Vec<&str> = [name, super_name]
        .iter()
        .copied()
        .chain(interfaces.iter().copied())
        .collect();
    b.extend_from_slice(&((names.len() * 2 + 1) as u16).to_be_bytes());
    for (i, n) in names.iter().enumerate() {
        b.push(tag::UTF8);
        b.extend_from_slice(&(n.len() as u16).to_be_bytes());
        b.extend_from_slice(n.as_bytes());
        b.push(tag::CLASS);
        b.extend_from_slice(&((i * 2 + 1) as u16).to_be_bytes());
    }
    b.extend_from_slice(&0x21u16.to_be_bytes());
    b.extend_from_slice(&2u16.to_be_bytes());
    b.extend_from_slice(&4u16.to_be_bytes());
    b.extend_from_slice(&(interfaces.len() as u16).to_be_bytes());
    for i in 0..interfaces.len() {
        b.extend_from_slice(&((6 + i * 2) as u16).to_be_bytes());
    }
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // fields, methods, attributes
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal() {
        let b = minimal_class(
            "com/example/FailingWrapper",
            "java/lang/Object",
            &["com/example/MissingListener"],
        );
        let c = parse(&b).unwrap();
        assert_eq!(c.name, b"com/example/FailingWrapper");
        assert_eq!(c.super_name, Some(&b"java/lang/Object"[..]));
        assert_eq!(c.interfaces, vec![&b"com/example/MissingListener"[..]]);
        assert_eq!(c.len, b.len());
        assert_eq!(c.major, 55);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = minimal_class("A", "java/lang/Object", &["I"]);
        for n in 0..b.len() {
            assert!(parse(&b[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn bad_version_and_tag() {
        let mut b = minimal_class("A", "B", &[]);
        b[7] = 99;
        assert_eq!(
            parse(&b).unwrap_err().what,
            "major version out of range 45..75"
        );
        let mut b = minimal_class("A", "B", &[]);
        b[10] = 2; // tag 2 does not exist
        assert_eq!(parse(&b).unwrap_err().what, "unknown constant-pool tag");
    }

    #[test]
    fn real_class_file_from_the_jdk() {
        // A class compiled by javac, as found in the fixture: fields, methods and attributes.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/FailingWrapper.class"
        );
        if let Ok(b) = std::fs::read(path) {
            let c = parse(&b).unwrap();
            assert_eq!(c.name, b"FailingWrapper");
            assert_eq!(c.interfaces, vec![&b"MissingListener"[..]]);
            assert_eq!(c.len, b.len());
        }
    }
}
