//! `Fn::Cidr`: split an address block into `count` subnets of `cidrBits`
//! host bits each, as CloudFormation does, for IPv4 and IPv6.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::template::Value;

/// # Errors
/// A message for a malformed block, or a count or size that does not fit.
pub(super) fn subnets(block: &str, count: &str, bits: &str) -> Result<Value, String> {
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|_| format!("Fn::Cidr's count must be a whole number, found \"{count}\""))?;
    let bits: u32 = bits
        .trim()
        .parse()
        .map_err(|_| format!("Fn::Cidr's cidrBits must be a whole number, found \"{bits}\""))?;
    let (addr, prefix) = block
        .split_once('/')
        .ok_or_else(|| format!("Fn::Cidr needs a CIDR block, found \"{block}\""))?;
    let prefix: u32 = prefix
        .parse()
        .map_err(|_| format!("bad prefix length in \"{block}\""))?;
    if !(1..=256).contains(&count) {
        return Err(format!("Fn::Cidr's count must be 1 to 256, found {count}"));
    }
    let (base, width, render): (u128, u32, fn(u128) -> String) =
        if let Ok(v4) = addr.parse::<Ipv4Addr>() {
            (u128::from(u32::from(v4)), 32, |n| {
                Ipv4Addr::from(n as u32).to_string()
            })
        } else if let Ok(v6) = addr.parse::<Ipv6Addr>() {
            (u128::from(v6), 128, |n| Ipv6Addr::from(n).to_string())
        } else {
            return Err(format!("Fn::Cidr needs a CIDR block, found \"{block}\""));
        };
    if prefix > width || bits > width - prefix {
        return Err(format!(
            "Fn::Cidr cannot carve /{} subnets from \"{block}\"",
            width - bits
        ));
    }
    let available = 1u128 << (width - prefix - bits).min(127);
    if u128::from(count) > available {
        return Err(format!(
            "Fn::Cidr: \"{block}\" holds only {available} subnets of /{}",
            width - bits
        ));
    }
    let host_mask = if width - prefix == 128 {
        u128::MAX
    } else {
        (1u128 << (width - prefix)) - 1
    };
    let network = base & !host_mask;
    Ok(Value::List(
        (0..u128::from(count))
            .map(|i| {
                Value::String(format!(
                    "{}/{}",
                    render(network + (i << bits)),
                    width - bits
                ))
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: Value) -> Vec<String> {
        v.as_list()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn ipv4_blocks_split_like_cloudformation() {
        // The example from the Fn::Cidr documentation.
        assert_eq!(
            strings(subnets("192.168.0.0/24", "6", "5").unwrap()),
            [
                "192.168.0.0/27",
                "192.168.0.32/27",
                "192.168.0.64/27",
                "192.168.0.96/27",
                "192.168.0.128/27",
                "192.168.0.160/27",
            ]
        );
    }

    #[test]
    fn ipv6_blocks_split_too() {
        assert_eq!(
            strings(subnets("2001:db8::/56", "2", "64").unwrap()),
            ["2001:db8::/64", "2001:db8:0:1::/64"]
        );
    }

    #[test]
    fn impossible_splits_are_errors() {
        assert!(subnets("10.0.0.0/24", "9", "5").is_err());
        assert!(subnets("10.0.0.0/30", "1", "5").is_err());
        assert!(subnets("nonsense", "1", "5").is_err());
    }
}
