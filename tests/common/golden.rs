//! The decoder's golden file (`lifter/tests/data/rv_decode.txt`): every operation with
//! many operand combinations, checked against GNU objdump. The instruction tests draw
//! their encodings from it.

use vmx_lifter::rv::{decode, Insn};

/// One golden-file entry: the decoded instruction and objdump's text for the encoding.
pub struct GoldenInsn {
    pub insn: Insn,
    pub word: u32,
    /// objdump's mnemonic for the encoding as written (`c.addi` for compressed forms).
    pub mnemonic: String,
}

/// Every instruction in the listed sections of the golden file, decoded, in file order.
pub fn golden_insns(sections: &[&str]) -> Vec<Insn> {
    golden_entries(sections)
        .into_iter()
        .map(|g| g.insn)
        .collect()
}

/// The entries of the listed sections (`[.text]`, `[.text.illegal]`, `[.text.random]`).
pub fn golden_entries(sections: &[&str]) -> Vec<GoldenInsn> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/lifter/tests/data/rv_decode.txt"
    );
    let text = std::fs::read_to_string(path).expect("decoder golden file");
    let mut wanted = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('[') {
            wanted = sections.contains(&line);
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if !wanted || line.starts_with('#') || f.len() < 3 {
            continue;
        }
        if let Ok(word) = u32::from_str_radix(f[1], 16) {
            let mnemonic = f
                .get(3)
                .and_then(|t| t.split_whitespace().next())
                .unwrap_or("")
                .to_string();
            out.push(GoldenInsn {
                insn: decode(word),
                word,
                mnemonic,
            });
        }
    }
    out
}
