//! Receipts (spec §9, `qonto-reference.md` §5): which files Cardinal takes, told by their
//! content, never by their name or the type the client declares.

use crate::error::DomainError;

/// The largest file taken, in bytes (contract §9 **[C]**: 15 MB).
pub const MAX_FILE_BYTES: usize = 15 * 1024 * 1024;

/// What Qonto takes as a receipt: PDF, JPEG or PNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
}

impl FileKind {
    /// The kind the file's first bytes announce (its magic number), if it is one taken.
    pub fn sniff(head: &[u8]) -> Option<FileKind> {
        if head.starts_with(b"%PDF-") {
            Some(FileKind::Pdf)
        } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileKind::Jpeg)
        } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(FileKind::Png)
        } else {
            None
        }
    }

    /// The `Content-Type` it is stored and served with.
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
        }
    }

    pub fn of_content_type(content_type: &str) -> Option<FileKind> {
        [FileKind::Pdf, FileKind::Jpeg, FileKind::Png].into_iter().find(|k| k.content_type() == content_type)
    }

    /// The file-name extensions that name this kind.
    fn extensions(self) -> &'static [&'static str] {
        match self {
            FileKind::Pdf => &["pdf"],
            FileKind::Jpeg => &["jpg", "jpeg"],
            FileKind::Png => &["png"],
        }
    }
}

/// Where an upload's refusals point: the multipart part.
const FILE: &str = "/file";

/// Checks an uploaded file and says what it is: its content must be a PDF, a JPEG or a PNG,
/// and a name with an extension must name that kind (a PDF called `receipt.png` is refused:
/// whoever opens it by its name would be misled). An empty file is no receipt.
pub fn check_file(file_name: &str, content: &[u8]) -> Result<FileKind, DomainError> {
    if content.is_empty() {
        return Err(DomainError::invalid(FILE, "the file is empty"));
    }
    if content.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let Some(kind) = FileKind::sniff(content) else {
        return Err(DomainError::invalid(
            FILE,
            "the file is not a PDF, a JPEG or a PNG (its content says so, whatever its name)",
        ));
    };
    if let Some((_, extension)) = file_name.rsplit_once('.') {
        let extension = extension.to_ascii_lowercase();
        if !kind.extensions().contains(&extension.as_str()) {
            return Err(DomainError::invalid(
                FILE,
                format!("the file is a {} but its name ends in .{extension}", kind.name()),
            ));
        }
    }
    Ok(kind)
}

impl FileKind {
    fn name(self) -> &'static str {
        match self {
            FileKind::Pdf => "PDF",
            FileKind::Jpeg => "JPEG",
            FileKind::Png => "PNG",
        }
    }
}

/// The refusal of a file over [`MAX_FILE_BYTES`].
pub fn too_large() -> DomainError {
    DomainError::invalid(FILE, format!("the file is larger than {} MB", MAX_FILE_BYTES / (1024 * 1024)))
}

/// A file name fit to store and to put in a `Content-Disposition` header: its last path
/// segment, without control characters or quotes, at most 255 characters; `receipt` when
/// nothing is left.
pub fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String =
        last.chars().filter(|c| !c.is_control() && !matches!(c, '"' | ';')).take(255).collect::<String>();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "receipt".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.7\n...";
    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];

    #[test]
    fn content_decides_the_kind() {
        assert_eq!(check_file("r.pdf", PDF), Ok(FileKind::Pdf));
        assert_eq!(check_file("scan", PNG), Ok(FileKind::Png));
        assert_eq!(check_file("photo.JPG", &[0xFF, 0xD8, 0xFF, 0xE0]), Ok(FileKind::Jpeg));
    }

    #[test]
    fn a_misnamed_or_foreign_file_is_refused() {
        assert!(check_file("r.png", PDF).is_err(), "a PDF named .png");
        assert!(check_file("r.pdf", b"<html><script>alert(1)</script>").is_err(), "HTML named .pdf");
        assert!(check_file("r.pdf", b"").is_err());
        assert!(check_file("r.pdf", &vec![b'%'; MAX_FILE_BYTES + 1]).is_err());
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\scans\\a\"b;.pdf"), "ab.pdf");
        assert_eq!(clean_file_name("  "), "receipt");
    }
}
