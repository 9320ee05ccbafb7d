// A program whose output must not depend on the allocator: it builds a
// text from a fixed-seed generator, counts words in a HashMap, indexes them
// by length in a BTreeMap, sorts and deduplicates vectors, keeps shapes as
// Box<dyn Trait>, and grows and shrinks strings; its report is compared with
// tests/program/expected.txt by program_on_system.rs and program_on_heapkit.rs
// (the same code under each global allocator).
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: fixed seed, fixed sequence on every machine
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String;
}

struct Rect(f64, f64);
struct Circle(f64);

impl Shape for Rect {
    fn area(&self) -> f64 {
        self.0 * self.1
    }
    fn name(&self) -> String {
        format!("rect {}x{}", self.0, self.1)
    }
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        3.0 * self.0 * self.0
    }
    fn name(&self) -> String {
        format!("circle r={}", self.0)
    }
}

fn word(rng: &mut Rng) -> String {
    const SYLLABLES: [&str; 12] = ["ka", "lo", "mi", "nu", "re", "sa", "to", "vi", "en", "or", "ul", "ix"];
    let n = 1 + rng.below(3) + rng.below(2);
    (0..n).map(|_| SYLLABLES[rng.below(12) as usize]).collect()
}

pub fn run() -> String {
    let mut out = String::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // A text of 200k words, with lines.
    let mut text = String::new();
    for i in 0..200_000 {
        text.push_str(&word(&mut rng));
        text.push(if i % 13 == 12 { '\n' } else { ' ' });
    }
    writeln!(out, "text: {} bytes, {} lines", text.len(), text.lines().count()).unwrap();

    // Word counts; the report sorts them, so HashMap's order does not show.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for w in text.split_whitespace() {
        *counts.entry(w).or_insert(0) += 1;
    }
    let mut top: Vec<(&str, usize)> = counts.iter().map(|(w, c)| (*w, *c)).collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    writeln!(out, "distinct words: {}", top.len()).unwrap();
    for (w, c) in top.iter().take(8) {
        writeln!(out, "  {:>10} {}", w, c).unwrap();
    }

    // Words by length, in a BTreeMap of sorted, deduplicated vectors.
    let mut by_len: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for w in counts.keys() {
        by_len.entry(w.len()).or_default().push(w.to_string());
    }
    for (len, words) in by_len.iter_mut() {
        words.sort();
        words.dedup();
        writeln!(
            out,
            "length {:>2}: {:>5} words, first {}, last {}",
            len,
            words.len(),
            words[0],
            words[words.len() - 1]
        )
        .unwrap();
    }

    // Boxed trait objects.
    let shapes: Vec<Box<dyn Shape>> = (0..1000)
        .map(|i| -> Box<dyn Shape> {
            if i % 2 == 0 {
                Box::new(Rect((i % 17) as f64, (i % 5) as f64))
            } else {
                Box::new(Circle((i % 11) as f64))
            }
        })
        .collect();
    let total: f64 = shapes.iter().map(|s| s.area()).sum();
    let largest = shapes.iter().max_by(|a, b| a.area().partial_cmp(&b.area()).unwrap()).unwrap();
    writeln!(out, "shapes: total area {}, largest {} ({})", total, largest.name(), largest.area()).unwrap();

    // A queue that grows and shrinks, and a string rebuilt many times.
    let mut queue: VecDeque<Vec<u32>> = VecDeque::new();
    let mut checksum = 0u64;
    for i in 0..50_000u32 {
        queue.push_back((0..(i % 64)).collect());
        if queue.len() > 1000 || i % 3 == 0 {
            if let Some(v) = queue.pop_front() {
                checksum = checksum.wrapping_mul(31).wrapping_add(v.iter().map(|&x| x as u64).sum::<u64>());
            }
        }
    }
    writeln!(out, "queue: {} left, checksum {}", queue.len(), checksum).unwrap();
    let mut s = String::new();
    for i in 0..2000 {
        s = format!("{}{}", &s[s.len().saturating_sub(500)..], i);
    }
    writeln!(out, "string: {} bytes, ends {}", s.len(), &s[s.len() - 12..]).unwrap();
    out
}
