//! The `date-time` format as Microsoft's validator applies it.
//!
//! The schema asks for `"format": "date-time"` (RFC 3339). Microsoft validates with Ajv 6, which
//! also accepts a space between date and time, and both the guide and Microsoft's own samples
//! use that form (`2019-01-27 15:48:52Z`), so a strict RFC 3339 checker would reject messages the
//! service takes. This checker accepts `T`, `t` or a space as separator and is otherwise strict:
//! a time offset is required (`Z`, `z` or `±hh:mm`) and the calendar is checked (month lengths,
//! leap years, a leap second only at 23:59:60 UTC).

/// Whether `s` is an RFC 3339 date-time, allowing a space for the `T` separator.
///
/// Grammar: `YYYY-MM-DD(T|t| )HH:MM:SS[.fraction](Z|z|(+|-)HH:MM)`.
pub fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') {
        return false;
    }
    let Some((year, month, day)) = date(&b[..10]) else {
        return false;
    };
    if day == 0 || day > days_in_month(year, month) {
        return false;
    }
    let Some((hour, minute, second)) = time(&b[11..19]) else {
        return false;
    };
    let mut rest = &b[19..];
    if let [b'.', tail @ ..] = rest {
        let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = &tail[digits..];
    }
    let offset_minutes: i32 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (Some(oh), Some(om)) = (two_digits(*h1, *h2), two_digits(*m1, *m2)) else {
                return false;
            };
            if oh > 23 || om > 59 {
                return false;
            }
            let minutes = i32::from(oh) * 60 + i32::from(om);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return false,
    };
    if second == 60 {
        // A leap second is inserted at the end of a UTC day only.
        let local = i32::from(hour) * 60 + i32::from(minute);
        let utc = (local - offset_minutes).rem_euclid(24 * 60);
        return utc == 23 * 60 + 59;
    }
    true
}

/// `YYYY-MM-DD` with month 1..=12 (the day is checked by the caller).
fn date(b: &[u8]) -> Option<(u32, u8, u8)> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *b else {
        return None;
    };
    let year = u32::from(two_digits(y1, y2)?) * 100 + u32::from(two_digits(y3, y4)?);
    let month = two_digits(m1, m2)?;
    let day = two_digits(d1, d2)?;
    (1..=12).contains(&month).then_some((year, month, day))
}

/// `HH:MM:SS` with hour ≤ 23, minute ≤ 59, second ≤ 60.
fn time(b: &[u8]) -> Option<(u8, u8, u8)> {
    let [h1, h2, b':', m1, m2, b':', s1, s2] = *b else {
        return None;
    };
    let (hour, minute, second) = (
        two_digits(h1, h2)?,
        two_digits(m1, m2)?,
        two_digits(s1, s2)?,
    );
    (hour <= 23 && minute <= 59 && second <= 60).then_some((hour, minute, second))
}

fn two_digits(a: u8, b: u8) -> Option<u8> {
    (a.is_ascii_digit() && b.is_ascii_digit()).then(|| (a - b'0') * 10 + (b - b'0'))
}

fn days_in_month(year: u32, month: u8) -> u8 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::is_date_time;

    #[test]
    fn accepts_rfc3339_and_the_space_form() {
        for ok in [
            "2019-01-27T13:48:52Z",
            "2019-01-27t13:48:52z",
            "2019-01-27 13:48:52Z",
            "2019-01-27 15:48:52+02:00",
            "2018-08-10T11:01:21.000+01:00",
            "2018-08-10T11:01:21.123456789-11:30",
            "2020-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59+23:59",
            "2016-12-31T23:59:60Z",
            "2016-12-31T18:59:60-05:00",
            "2017-01-01T00:59:60+01:00",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "2019-01-27",
            "2019-01-27T13:48:52",       // no offset
            "2019-01-27 13:48:52",       // no offset
            "2019-01-27_13:48:52Z",      // separator
            "2019-01-27  13:48:52Z",     // two spaces
            "2019-1-27T13:48:52Z",       // short month
            "2019-13-01T00:00:00Z",      // month 13
            "2019-00-01T00:00:00Z",      // month 0
            "2019-01-00T00:00:00Z",      // day 0
            "2019-01-32T00:00:00Z",      // day 32
            "2019-04-31T00:00:00Z",      // April has 30 days
            "2019-02-29T00:00:00Z",      // not a leap year
            "1900-02-29T00:00:00Z",      // century, not a leap year
            "2019-01-27T24:00:00Z",      // hour 24
            "2019-01-27T23:60:00Z",      // minute 60
            "2019-01-27T23:59:61Z",      // second 61
            "2019-01-27T12:00:60Z",      // leap second not at the end of a UTC day
            "2019-01-27T23:59:60+01:00", // 22:59:60 UTC
            "2019-01-27T13:48:52.Z",     // empty fraction
            "2019-01-27T13:48:52+0100",  // offset without colon
            "2019-01-27T13:48:52+01",    // short offset
            "2019-01-27T13:48:52+24:00", // offset hour 24
            "2019-01-27T13:48:52+01:60", // offset minute 60
            "2019-01-27T13:48:52Z ",     // trailing space
            " 2019-01-27T13:48:52Z",     // leading space
            "2019-01-27T13:48:52ZZ",
            "２０19-01-27T13:48:52Z", // non-ASCII digits
            "2019-01-27T13:48:5２Z",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }
}
