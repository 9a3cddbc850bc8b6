//! Paging of the admin lists.

/// One page of a list in stable order.
pub fn page<T>(all: Vec<T>, offset: usize, limit: usize) -> (Vec<T>, usize, Option<usize>) {
    let total = all.len();
    let items: Vec<T> = all.into_iter().skip(offset).take(limit).collect();
    let next = (offset + items.len() < total).then_some(offset + items.len());
    (items, total, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging() {
        let (items, total, next) = page((0..5).collect::<Vec<_>>(), 0, 2);
        assert_eq!((items, total, next), (vec![0, 1], 5, Some(2)));
        let (items, _, next) = page((0..5).collect::<Vec<_>>(), 4, 2);
        assert_eq!((items, next), (vec![4], None));
        let (items, _, next) = page((0..5).collect::<Vec<_>>(), 9, 2);
        assert_eq!((items, next), (vec![], None));
    }
}
