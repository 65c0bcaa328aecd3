//! A small deterministic random source for the instruction tests (xorshift64), with
//! generators that over-represent the values where instruction semantics have corners.

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Integers with the edge cases over-represented.
    pub fn int(&mut self) -> u64 {
        const EDGES: [u64; 12] = [
            0,
            1,
            u64::MAX,
            i64::MIN as u64,
            i64::MAX as u64,
            0x8000_0000,
            0x7fff_ffff,
            0xffff_ffff,
            0xffff_ffff_8000_0000,
            31,
            32,
            64,
        ];
        match self.next() % 4 {
            0 => EDGES[(self.next() % EDGES.len() as u64) as usize],
            1 => self.next() % 64,
            _ => self.next(),
        }
    }

    /// Float register contents: boxed singles and doubles, specials included (zeros,
    /// infinities, quiet and signalling NaNs, subnormals, the largest finite values,
    /// values next to an integer), and improperly boxed singles.
    pub fn freg(&mut self) -> u64 {
        const S: [u32; 12] = [
            0,
            0x8000_0000,
            0x3f80_0000,
            0xbf80_0000,
            0x7f80_0000,
            0xff80_0000,
            0x7fc0_0000,
            0x7fa0_0000,
            0x0000_0001,
            0x007f_ffff,
            0x7f7f_ffff,
            0x4b00_0001,
        ];
        const D: [u64; 12] = [
            0,
            0x8000_0000_0000_0000,
            0x3ff0_0000_0000_0000,
            0xbff0_0000_0000_0000,
            0x7ff0_0000_0000_0000,
            0xfff0_0000_0000_0000,
            0x7ff8_0000_0000_0000,
            0x7ff4_0000_0000_0000,
            1,
            0x000f_ffff_ffff_ffff,
            0x7fef_ffff_ffff_ffff,
            0x4330_0000_0000_0001,
        ];
        let boxed = |v: u32| 0xffff_ffff_0000_0000 | v as u64;
        match self.next() % 6 {
            0 => boxed(S[(self.next() % 12) as usize]),
            1 => D[(self.next() % 12) as usize],
            2 => boxed(self.next() as u32),
            3 => {
                // A "normal" double of moderate magnitude.
                let exp = 1023 - 40 + self.next() % 80;
                (self.next() & 0x800f_ffff_ffff_ffff) | exp << 52
            }
            4 => self.next(), // often an improperly boxed single
            _ => boxed(((self.next() % 60 + 100) as u32) << 23 | self.next() as u32 & 0x807f_ffff),
        }
    }
}
