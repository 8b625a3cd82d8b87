"""The resources of the lab Redfish service as Redfish JSON (DSP0266 "Data model"): the
service root, the OData documents, one ComputerSystem and the SessionService; and the
Redfish error body."""

import uuid

from xenha.lab.power.rack import OFF, ON

ROOT = "/redfish/v1/"
ODATA = "/redfish/v1/odata"
METADATA = "/redfish/v1/$metadata"
SYSTEMS = "/redfish/v1/Systems"
SYSTEM = SYSTEMS + "/1"
RESET = SYSTEM + "/Actions/ComputerSystem.Reset"
SESSION_SERVICE = "/redfish/v1/SessionService"
SESSIONS = SESSION_SERVICE + "/Sessions"
ACCOUNT_SERVICE = "/redfish/v1/AccountService"
ACCOUNTS = ACCOUNT_SERVICE + "/Accounts"
ACCOUNT = ACCOUNTS + "/1"
ROLES = ACCOUNT_SERVICE + "/Roles"
# DSP0266 "Roles": the standard roles and their privileges (read only here: one login).
PRIVILEGES = {
    "Administrator": ["Login", "ConfigureManager", "ConfigureUsers", "ConfigureComponents"],
    "Operator": ["Login", "ConfigureComponents"],
    "ReadOnly": ["Login"],
}
SESSION_TIMEOUT = 600  # seconds idle before a session ends, as BMCs default to minutes
UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, "xenha-lab-redfish"))  # stable across restarts
RESET_TYPES = {
    "On": [ON],
    "ForceOff": [OFF],
    "GracefulShutdown": [OFF],
    "ForceRestart": [OFF, ON],
    "PowerCycle": [OFF, ON],
}
# The DMTF schemas the resources' @odata.type name: (schema, namespace, versioned namespace).
SCHEMAS = [
    ("ServiceRoot", "v1_5_0"),
    ("ComputerSystemCollection", None),
    ("ComputerSystem", "v1_5_0"),
    ("SessionService", "v1_1_3"),
    ("SessionCollection", None),
    ("Session", "v1_0_0"),
    ("AccountService", "v1_5_0"),
    ("ManagerAccountCollection", None),
    ("ManagerAccount", "v1_3_0"),
    ("RoleCollection", None),
    ("Role", "v1_2_0"),
]
TYPES = {name: "#%s.%s%s" % (name, v + "." if v else "", name) for name, v in SCHEMAS}
# Base message registry ids by status, for the error body's @Message.ExtendedInfo.
MESSAGES = {
    400: "MalformedJSON",
    401: "NoValidSession",
    404: "ResourceNotFound",
    405: "OperationNotAllowed",
    412: "PreconditionFailed",
}


def reset_states(reset_type):
    """The rack states a ResetType passes through, or None when it is not one we take."""
    return RESET_TYPES.get(reset_type)


def link(uri):
    return {"@odata.id": uri}


def resource(uri, kind, **props):
    return {"@odata.id": uri, "@odata.type": TYPES[kind], **props}


def collection(uri, kind, name, members):
    # DSP0266 "Resource collection requests": Members and Members@odata.count.
    return resource(
        uri,
        kind,
        Name=name,
        Members=[link(m) for m in members],
        **{"Members@odata.count": len(members)},
    )


def documents(state, sessions, opened, user):
    """``{uri: document}`` for the machine in ``state``, with the open sessions' URIs
    ``sessions`` (``opened`` ever) and the one account ``user``."""
    return {
        # DSP0266 "Protocol version": /redfish names the versions served.
        "/redfish": {"v1": ROOT},
        ROOT: resource(
            ROOT,
            "ServiceRoot",
            Id="RootService",
            Name="xenha lab Redfish service",
            RedfishVersion="1.6.0",
            UUID=UUID,
            Systems=link(SYSTEMS),
            SessionService=link(SESSION_SERVICE),
            AccountService=link(ACCOUNT_SERVICE),
            # DSP0266 "Redfish login sessions": clients find the Sessions collection here.
            Links={"Sessions": link(SESSIONS)},
        ),
        # DSP0266 "OData service document": the service's top-level resources.
        ODATA: {
            "@odata.context": METADATA,
            "value": [
                {"name": name, "kind": "Singleton", "url": uri}
                for name, uri in (
                    ("Service", ROOT),
                    ("Systems", SYSTEMS),
                    ("SessionService", SESSION_SERVICE),
                    ("AccountService", ACCOUNT_SERVICE),
                )
            ],
        },
        METADATA: {},  # served as METADATA_XML
        RESET: {},  # an action: POST only
        SYSTEMS: collection(SYSTEMS, "ComputerSystemCollection", "Computer Systems", [SYSTEM]),
        SYSTEM: resource(
            SYSTEM,
            "ComputerSystem",
            Id="1",
            Name="Computer System",
            PowerState="On" if state == ON else "Off",
            Actions={
                "#ComputerSystem.Reset": {
                    "target": RESET,
                    "ResetType@Redfish.AllowableValues": sorted(RESET_TYPES),
                }
            },
        ),
        SESSION_SERVICE: resource(
            SESSION_SERVICE,
            "SessionService",
            Id="SessionService",
            Name="Session Service",
            ServiceEnabled=True,
            SessionTimeout=SESSION_TIMEOUT,
            Sessions=link(SESSIONS),
            # Redfish's place for what the standard lacks: the lab's tests read how many
            # logins there were, to tell a session client from a Basic one.
            Oem={"XenhaLab": {"SessionsOpened": opened}},
        ),
        SESSIONS: collection(SESSIONS, "SessionCollection", "Sessions", sessions),
        **accounts(user),
    }


def accounts(user):
    """The AccountService: the endpoint's one login, an Administrator, and the standard
    roles (the validator checks them; nothing here changes them)."""
    roles = {
        "%s/%s" % (ROLES, name): resource(
            "%s/%s" % (ROLES, name),
            "Role",
            Id=name,
            Name=name,
            RoleId=name,
            IsPredefined=True,
            # ConfigureSelf: every role may change its own password (DSP0266 "Roles").
            AssignedPrivileges=privileges + ["ConfigureSelf"],
        )
        for name, privileges in PRIVILEGES.items()
    }
    return {
        ACCOUNT_SERVICE: resource(
            ACCOUNT_SERVICE,
            "AccountService",
            Id="AccountService",
            Name="Account Service",
            ServiceEnabled=True,
            Accounts=link(ACCOUNTS),
            Roles=link(ROLES),
        ),
        ACCOUNTS: collection(ACCOUNTS, "ManagerAccountCollection", "Accounts", [ACCOUNT]),
        ACCOUNT: resource(
            ACCOUNT,
            "ManagerAccount",
            Id="1",
            Name="User Account",
            UserName=user,
            RoleId="Administrator",
            Enabled=True,
            Locked=False,
            Password=None,  # DSP0266 "Password change required handling": never readable
            Links={"Role": link(ROLES + "/Administrator")},
        ),
        ROLES: collection(ROLES, "RoleCollection", "Roles", sorted(roles)),
        **roles,
    }


def session(uri, user):
    """A session resource; never the password (DSP0266 "Session login")."""
    return resource(uri, "Session", Id=uri.rsplit("/", 1)[1], Name="User Session", UserName=user)


def error(status, message):
    """DSP0266 "Error responses": the error object with one Base registry message."""
    message_id = "Base.1.8." + MESSAGES.get(status, "GeneralError")
    return {
        "error": {
            "code": message_id,
            "message": message,
            "@Message.ExtendedInfo": [
                {
                    "@odata.type": "#Message.v1_1_1.Message",
                    "MessageId": message_id,
                    "Message": message,
                    "Severity": "Critical",
                    "MessageSeverity": "Critical",
                    "Resolution": "None.",
                }
            ],
        }
    }


def _metadata_xml():
    """DSP0266 "OData $metadata": a CSDL document referencing the schemas used and the
    entity container the service root is."""
    refs = []
    for name, version in SCHEMAS:
        includes = [name] + (["%s.%s" % (name, version)] if version else [])
        refs.append(
            '  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/%s_v1.xml">\n%s'
            "  </edmx:Reference>\n"
            % (name, "".join('    <edmx:Include Namespace="%s"/>\n' % i for i in includes))
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">\n'
        + "".join(refs)
        + "  <edmx:DataServices>\n"
        '    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">\n'
        '      <EntityContainer Name="Service" Extends="ServiceRoot.%s.ServiceContainer"/>\n'
        "    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n" % SCHEMAS[0][1]
    ).encode()


METADATA_XML = _metadata_xml()
