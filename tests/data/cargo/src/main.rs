//! A riscv64 program for the Cargo runner example.

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!(
        "hello from {}, args {args:?}, gcd(12, 18) = {}",
        std::env::consts::ARCH,
        gcd(12, 18)
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn gcd_works() {
        assert_eq!(super::gcd(12, 18), 6);
    }
}
