//! A multi-page document being captured: pages in order, reorderable, removable.

/// Why a page operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("there is no page {0}")]
    NoSuchPage(usize),
}

/// The pages of one document, in the order they will be filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<P> {
    pages: Vec<P>,
}

impl<P> Default for Document<P> {
    fn default() -> Self {
        Self { pages: Vec::new() }
    }
}

impl<P> Document<P> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn pages(&self) -> &[P] {
        &self.pages
    }

    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    pub fn add(&mut self, page: P) {
        self.pages.push(page);
    }

    /// Move the page at `from` so that it ends up at `to` (both 0-based).
    pub fn move_page(&mut self, from: usize, to: usize) -> Result<(), DocumentError> {
        if from >= self.pages.len() {
            return Err(DocumentError::NoSuchPage(from));
        }
        if to >= self.pages.len() {
            return Err(DocumentError::NoSuchPage(to));
        }
        let page = self.pages.remove(from);
        self.pages.insert(to, page);
        Ok(())
    }

    pub fn remove(&mut self, index: usize) -> Result<P, DocumentError> {
        if index >= self.pages.len() {
            return Err(DocumentError::NoSuchPage(index));
        }
        Ok(self.pages.remove(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_ordered_reorderable_and_removable() {
        let mut document = Document::new();
        for page in ["a", "b", "c"] {
            document.add(page);
        }
        document.move_page(2, 0).unwrap();
        assert_eq!(document.pages(), ["c", "a", "b"]);
        assert_eq!(document.remove(1), Ok("a"));
        assert_eq!(document.pages(), ["c", "b"]);
        assert_eq!(document.move_page(0, 5), Err(DocumentError::NoSuchPage(5)));
        assert_eq!(document.remove(9), Err(DocumentError::NoSuchPage(9)));
    }
}
