// The padding index must be a row of the table.
nn::network! { struct Net<Embedding<10, 4, 3, padding_idx = 10>, Flatten, Linear<12, 2>> }

fn main() {}
