//! One stored feedback event and its framing on disk.
//!
//! Frame: `len: u32 LE | crc32: u32 LE | payload[len]`, the CRC over the payload. Payload
//! (format 1): `format u8 | user [32] | event u8 | timestamp_ms i64 | position u32 |
//! item_id (u16 len + UTF-8) | request_id (u16 len + UTF-8)`, all little-endian.
//! A hand-written layout rather than serde + bincode: it is twenty lines, fixed forever by the
//! format byte, and a decoder that must survive any bytes is easier to audit this small.

use crate::data::EventKind;

use super::pseudonym::UserKey;

pub const FRAME_HEADER_BYTES: usize = 8;
const PAYLOAD_FORMAT: u8 = 1;

/// An event as stored: the user already pseudonymised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRecord {
    pub user: UserKey,
    pub item_id: String,
    pub event: EventKind,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The Rank response that showed the item; empty when unknown.
    pub request_id: String,
    /// 0-based position the item was shown at.
    pub position: u32,
}

fn event_code(event: EventKind) -> u8 {
    match event {
        EventKind::View => 1,
        EventKind::Click => 2,
        EventKind::Cart => 3,
        EventKind::Purchase => 4,
        EventKind::Rating => 5,
    }
}

fn event_from_code(code: u8) -> Option<EventKind> {
    Some(match code {
        1 => EventKind::View,
        2 => EventKind::Click,
        3 => EventKind::Cart,
        4 => EventKind::Purchase,
        5 => EventKind::Rating,
        _ => return None,
    })
}

impl FeedbackRecord {
    /// Appends the framed record to `out`. Ids longer than `u16::MAX` bytes are a caller bug:
    /// the server's limits keep ids to a few hundred bytes.
    pub fn encode_frame(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
        out.push(PAYLOAD_FORMAT);
        out.extend_from_slice(&self.user.0);
        out.push(event_code(self.event));
        out.extend_from_slice(&self.timestamp_ms.to_le_bytes());
        out.extend_from_slice(&self.position.to_le_bytes());
        for text in [&self.item_id, &self.request_id] {
            let len = u16::try_from(text.len()).expect("ids are bounded by the request limits");
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        let payload = &out[start + FRAME_HEADER_BYTES..];
        let len = payload.len() as u32;
        let crc = crc32fast::hash(payload);
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }
}

/// What reading one frame at the start of a byte slice found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole, valid record, and how many bytes the frame took.
    Record(FeedbackRecord, usize),
    /// The slice ends inside the frame: a write that never finished.
    Incomplete,
    /// A whole frame whose checksum or contents are wrong; `len` bytes long.
    Corrupt { len: usize, reason: &'static str },
}

pub fn decode_frame(bytes: &[u8]) -> Frame {
    let Some(header) = bytes.get(..FRAME_HEADER_BYTES) else {
        return Frame::Incomplete;
    };
    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    let Some(payload) = bytes.get(FRAME_HEADER_BYTES..FRAME_HEADER_BYTES.saturating_add(len))
    else {
        return Frame::Incomplete;
    };
    let frame_len = FRAME_HEADER_BYTES + len;
    if crc32fast::hash(payload) != crc {
        return Frame::Corrupt {
            len: frame_len,
            reason: "checksum mismatch",
        };
    }
    match decode_payload(payload) {
        Ok(record) => Frame::Record(record, frame_len),
        Err(reason) => Frame::Corrupt {
            len: frame_len,
            reason,
        },
    }
}

/// A cursor that refuses to read past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("record shorter than its fields");
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn text(&mut self) -> Result<String, &'static str> {
        let len = u16::from_le_bytes(self.array()?) as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "id is not UTF-8")
    }
}

fn decode_payload(payload: &[u8]) -> Result<FeedbackRecord, &'static str> {
    let mut r = Reader(payload);
    if r.array::<1>()?[0] != PAYLOAD_FORMAT {
        return Err("unknown record format");
    }
    let user = UserKey(r.array()?);
    let event = event_from_code(r.array::<1>()?[0]).ok_or("unknown event type")?;
    let timestamp_ms = i64::from_le_bytes(r.array()?);
    let position = u32::from_le_bytes(r.array()?);
    let item_id = r.text()?;
    let request_id = r.text()?;
    if !r.0.is_empty() {
        return Err("trailing bytes after the record");
    }
    Ok(FeedbackRecord {
        user,
        item_id,
        event,
        timestamp_ms,
        request_id,
        position,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample(user_byte: u8, item: &str) -> FeedbackRecord {
        FeedbackRecord {
            user: UserKey([user_byte; 32]),
            item_id: item.to_string(),
            event: EventKind::Click,
            timestamp_ms: 1_700_000_000_123,
            request_id: "req-1".to_string(),
            position: 3,
        }
    }

    #[test]
    fn frame_round_trips() {
        let record = sample(7, "item-42");
        let mut bytes = Vec::new();
        record.encode_frame(&mut bytes);
        assert_eq!(decode_frame(&bytes), Frame::Record(record, bytes.len()));
    }

    #[test]
    fn every_prefix_is_incomplete_and_every_flip_is_caught() {
        let mut bytes = Vec::new();
        sample(1, "x").encode_frame(&mut bytes);
        for cut in 0..bytes.len() {
            assert_eq!(
                decode_frame(&bytes[..cut]),
                Frame::Incomplete,
                "cut at {cut}"
            );
        }
        for i in FRAME_HEADER_BYTES..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x40;
            assert!(
                matches!(decode_frame(&flipped), Frame::Corrupt { .. }),
                "flip at {i} not caught"
            );
        }
    }

    #[test]
    fn huge_length_field_is_incomplete_not_a_panic() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3];
        assert_eq!(decode_frame(&bytes), Frame::Incomplete);
    }
}
