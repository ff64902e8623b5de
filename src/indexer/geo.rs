//! `GeoLocation`, as the geoip steps of Wazuh's ingest pipeline fill it: looked up in a
//! GeoLite2/GeoIP2 City database from the first of ten address fields the alert has (each step
//! overwrites the one before, so the last present source wins), with the properties
//! `city_name`, `country_name`, `region_name` and `location`.

use std::net::IpAddr;

use serde_json::{Map, Value, json};

/// The address fields the pipeline looks at, in its order.
const SOURCES: [&[&str]; 10] = [
    &["data", "srcip"],
    &["data", "win", "eventdata", "ipAddress"],
    &["data", "aws", "sourceIPAddress"],
    &["data", "aws", "client_ip"],
    &["data", "aws", "service", "action", "networkConnectionAction", "remoteIpDetails", "ipAddressV4"],
    &["data", "aws", "httpRequest", "clientIp"],
    &["data", "ms-graph", "ipAddress"],
    &["data", "ms-graph", "actor", "ipAddress"],
    &["data", "gcp", "jsonPayload", "sourceIP"],
    &["data", "office365", "ClientIP"],
];

/// An open database.
pub struct Geo {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Geo")
    }
}

impl Geo {
    /// Opens a `.mmdb` City database.
    pub fn open(path: &std::path::Path) -> Result<Self, String> {
        maxminddb::Reader::open_readfile(path)
            .map(|reader| Self { reader })
            .map_err(|e| format!("cannot open the GeoIP database {}: {e}", path.display()))
    }

    /// What the database knows of `ip`.
    pub fn locate(&self, ip: IpAddr) -> Option<Value> {
        let found = self.reader.lookup(ip).ok()?;
        let city: maxminddb::geoip2::City<'_> = found.decode().ok()??;
        let mut out = Map::new();
        if let Some(name) = city.city.names.english {
            out.insert("city_name".into(), name.into());
        }
        if let Some(name) = city.country.names.english {
            out.insert("country_name".into(), name.into());
        }
        if let Some(name) = city.subdivisions.first().and_then(|s| s.names.english) {
            out.insert("region_name".into(), name.into());
        }
        if let (Some(lat), Some(lon)) = (city.location.latitude, city.location.longitude) {
            out.insert("location".into(), json!({"lat": lat, "lon": lon}));
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }

    /// The `GeoLocation` of an alert, if one of its address fields is in the database.
    pub fn geolocation(&self, alert: &Value) -> Option<Value> {
        SOURCES
            .iter()
            .rev()
            .filter_map(|path| path.iter().try_fold(alert, |v, key| v.get(key)))
            .filter_map(|v| v.as_str()?.trim().parse::<IpAddr>().ok())
            .find_map(|ip| self.locate(ip))
    }

    /// Whether a line may hold an address field (so the cheap path can skip parsing it).
    pub fn worth_parsing(line: &[u8]) -> bool {
        memchr::memmem::find(line, b"\"data\":").is_some()
    }
}
