//! Name vocabularies of the synthetic catalogue: departments and their leaf nouns, title
//! adjectives, brand syllables; and the deterministic leaf and brand names built from them.

const DEPARTMENTS: [(&str, [&str; 8]); 8] = [
    (
        "Sports",
        [
            "Running Shoe",
            "Yoga Mat",
            "Tennis Racket",
            "Cycling Helmet",
            "Football",
            "Swim Goggles",
            "Dumbbell",
            "Climbing Rope",
        ],
    ),
    (
        "Home",
        [
            "Table Lamp",
            "Cushion",
            "Curtain",
            "Rug",
            "Vase",
            "Wall Clock",
            "Bookshelf",
            "Duvet",
        ],
    ),
    (
        "Kitchen",
        [
            "Chef Knife",
            "Frying Pan",
            "Coffee Grinder",
            "Kettle",
            "Blender",
            "Cutting Board",
            "Teapot",
            "Toaster",
        ],
    ),
    (
        "Electronics",
        [
            "Headphones",
            "Smartwatch",
            "Speaker",
            "Power Bank",
            "Keyboard",
            "Mouse",
            "Webcam",
            "Charger",
        ],
    ),
    (
        "Fashion",
        [
            "Jacket",
            "Sneaker",
            "Backpack",
            "Scarf",
            "Sunglasses",
            "Wallet",
            "Hoodie",
            "Belt",
        ],
    ),
    (
        "Beauty",
        [
            "Face Cream",
            "Shampoo",
            "Perfume",
            "Lipstick",
            "Hair Dryer",
            "Sunscreen",
            "Serum",
            "Razor",
        ],
    ),
    (
        "Toys",
        [
            "Puzzle",
            "Building Set",
            "Doll",
            "Board Game",
            "Kite",
            "Plush Bear",
            "Toy Car",
            "Drone",
        ],
    ),
    (
        "Garden",
        [
            "Hose",
            "Planter",
            "Pruner",
            "Seed Kit",
            "Lawn Chair",
            "Bird Feeder",
            "Lantern",
            "Watering Can",
        ],
    ),
];
pub(super) const ADJECTIVES: [&str; 16] = [
    "Classic",
    "Pro",
    "Compact",
    "Deluxe",
    "Eco",
    "Ultra",
    "Smart",
    "Vintage",
    "Light",
    "Max",
    "Urban",
    "Essential",
    "Premium",
    "Sport",
    "Soft",
    "Rugged",
];
const SYLLABLES: [&str; 20] = [
    "ka", "lo", "mi", "ra", "zen", "tor", "vex", "qui", "bel", "nor", "sa", "fi", "do", "ree",
    "mak", "ul", "pax", "ora", "tek", "vi",
];

/// `(department, leaf noun)` of leaf `leaf`; past 64 leaves nouns repeat with a series number.
pub(super) fn leaf_name(leaf: usize) -> (String, String) {
    let (dept, nouns) = DEPARTMENTS[leaf % DEPARTMENTS.len()];
    let noun = nouns[(leaf / DEPARTMENTS.len()) % nouns.len()];
    let series = leaf / (DEPARTMENTS.len() * nouns.len());
    let noun = if series == 0 {
        noun.to_string()
    } else {
        format!("{noun} Series {}", series + 1)
    };
    (dept.to_string(), noun)
}

/// A pronounceable, unique name for brand `brand` (bijective base-20 over syllables).
pub(super) fn brand_name(brand: usize) -> String {
    let n = SYLLABLES.len();
    let mut name = String::new();
    let (mut b, mut first) = (brand, true);
    loop {
        let s = SYLLABLES[b % n];
        if first {
            name.push_str(&s[..1].to_uppercase());
            name.push_str(&s[1..]);
            first = false;
        } else {
            name.push_str(s);
        }
        b /= n;
        if b == 0 {
            break;
        }
        b -= 1;
    }
    if name.len() < 4 {
        name.push_str("co");
    }
    name
}
