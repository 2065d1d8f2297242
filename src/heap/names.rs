//! Class names in Java source form. Dumps name classes the JVM's internal way
//! (`java/lang/String`, `[B`, `[[Ljava/lang/Object;`, hidden classes `Foo$$Lambda$12+0x0800`);
//! users read `java.lang.String`, `byte[]`, `java.lang.Object[][]` and `Foo$$Lambda$12/0x0800`
//! as `jmap -histo` and `Class.getName()` print them.

use crate::formats::hprof::BasicType;

/// Converts a class name from the dump to Java source form.
pub fn java_name(raw: &str) -> String {
    let dims = raw.bytes().take_while(|&b| b == b'[').count();
    if dims == 0 {
        return plain(raw);
    }
    let elem = &raw[dims..];
    let base = match elem.as_bytes().first() {
        Some(b'L') => plain(elem[1..].strip_suffix(';').unwrap_or(&elem[1..])),
        Some(&c) if elem.len() == 1 => match prim_from_descriptor(c) {
            Some(t) => t.java_name().to_string(),
            None => plain(elem),
        },
        // Some writers (and old JDKs) name object arrays `[java.lang.Object` without L...;
        _ => plain(elem),
    };
    let mut s = base;
    for _ in 0..dims {
        s.push_str("[]");
    }
    s
}

fn plain(raw: &str) -> String {
    let mut s = raw.replace('/', ".");
    // Hidden classes: HotSpot's dump writes `+0x...` where Class.getName() prints `/0x...`.
    if let Some(p) = s.rfind("+0x") {
        if s[p + 3..].bytes().all(|b| b.is_ascii_hexdigit()) && p + 3 < s.len() {
            s.replace_range(p..p + 1, "/");
        }
    }
    s
}

fn prim_from_descriptor(c: u8) -> Option<BasicType> {
    Some(match c {
        b'Z' => BasicType::Boolean,
        b'C' => BasicType::Char,
        b'F' => BasicType::Float,
        b'D' => BasicType::Double,
        b'B' => BasicType::Byte,
        b'S' => BasicType::Short,
        b'I' => BasicType::Int,
        b'J' => BasicType::Long,
        _ => return None,
    })
}

/// The element type of a one-dimensional primitive array class (`[I` or `int[]`).
pub fn primitive_array_type(java_name: &str) -> Option<BasicType> {
    let elem = java_name.strip_suffix("[]")?;
    BasicType::PRIMITIVES
        .into_iter()
        .find(|t| t.java_name() == elem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(java_name("java/lang/String"), "java.lang.String");
        assert_eq!(java_name("java.lang.String"), "java.lang.String");
        assert_eq!(java_name("[B"), "byte[]");
        assert_eq!(java_name("[[I"), "int[][]");
        assert_eq!(java_name("[Ljava/lang/Object;"), "java.lang.Object[]");
        assert_eq!(java_name("[[Ljava/lang/String;"), "java.lang.String[][]");
        assert_eq!(java_name("com/foo/Outer$Inner"), "com.foo.Outer$Inner");
        assert_eq!(
            java_name("Foo$$Lambda$12+0x0000000800c0b000"),
            "Foo$$Lambda$12/0x0000000800c0b000"
        );
        assert_eq!(java_name("a+0xzz"), "a+0xzz");
        assert_eq!(primitive_array_type("long[]"), Some(BasicType::Long));
        assert_eq!(primitive_array_type("long[][]"), None);
    }
}
