"""The TOML configuration, read and checked section by section, with every mistake's file,
line and key (app/config/file.py reads the file; each section's settings are a module here).

The config is shared by every part of the application and imports none of them: a part
reads its settings from here, so no part is needed to read a config.
"""

from app.config.access import AccessSettings, SignIn, parse_access
from app.config.file import (
    SECRET_SERVICE,
    VIDEO_CODECS,
    Config,
    ConfigError,
    GatewaySettings,
    IceServer,
    MapSettings,
    load,
    parse,
    read,
    secret_user,
)
from app.config.map import MBTILES_PREFIX, check_setting
from app.config.recording import (
    ALWAYS_RECORDED,
    DEFAULT_KEEP_DAYS,
    DEFAULT_TAG_S,
    EvidenceSettings,
    RecordingPolicy,
    SettingError,
    SigningKeyStore,
    parse_evidence,
    parse_recording,
)
from app.config.room import (
    MANAGED,
    RoomSettings,
    ServerSettings,
    SfuSettings,
    parse_room,
    parse_server,
    parse_sfu,
)
from app.config.sms import (
    DEFAULT_MESSAGE,
    E164,
    MAX_SEGMENTS,
    SMS_SECRET_USER,
    SmsSettings,
    SmsSettingsError,
    message_text,
    parse_sms_settings,
    sms_segments,
)

__all__ = [
    "ALWAYS_RECORDED",
    "DEFAULT_KEEP_DAYS",
    "DEFAULT_MESSAGE",
    "DEFAULT_TAG_S",
    "E164",
    "MANAGED",
    "MAX_SEGMENTS",
    "MBTILES_PREFIX",
    "SECRET_SERVICE",
    "SMS_SECRET_USER",
    "VIDEO_CODECS",
    "AccessSettings",
    "Config",
    "ConfigError",
    "EvidenceSettings",
    "GatewaySettings",
    "IceServer",
    "MapSettings",
    "RecordingPolicy",
    "RoomSettings",
    "ServerSettings",
    "SettingError",
    "SfuSettings",
    "SignIn",
    "SigningKeyStore",
    "SmsSettings",
    "SmsSettingsError",
    "check_setting",
    "load",
    "message_text",
    "parse",
    "parse_access",
    "parse_evidence",
    "parse_recording",
    "parse_room",
    "parse_server",
    "parse_sfu",
    "parse_sms_settings",
    "read",
    "secret_user",
    "sms_segments",
]
