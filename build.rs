//! Records what the built-in knowledge base holds, for `arm-kb --version`, and makes
//! cargo rebuild when an article or rule file changes (they are embedded in the binary).

use std::fs;
use std::path::Path;

fn main() {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a: stable across toolchains
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    let mut articles = 0;
    let mut rules = 0;
    for (dir, ext) in [("kb", "md"), ("rules", "toml")] {
        println!("cargo:rerun-if-changed={dir}");
        let mut paths: Vec<_> = fs::read_dir(Path::new(dir))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        paths.sort();
        for path in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == ext))
        {
            println!("cargo:rerun-if-changed={}", path.display());
            let text = fs::read(path).unwrap_or_default();
            feed(path.file_name().unwrap_or_default().as_encoded_bytes());
            feed(&text);
            if ext == "md" {
                articles += 1;
            } else {
                rules += String::from_utf8_lossy(&text)
                    .lines()
                    .filter(|l| l.trim() == "[[rule]]")
                    .count();
            }
        }
    }
    println!("cargo:rustc-env=ARM_KB_CONTENT_HASH={:012x}", hash >> 16);
    println!("cargo:rustc-env=ARM_KB_ARTICLES={articles}");
    println!("cargo:rustc-env=ARM_KB_RULES={rules}");
}
