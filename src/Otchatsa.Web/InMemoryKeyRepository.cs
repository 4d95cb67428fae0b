using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Otchatsa.Web;

/// <summary>
/// Keeps the antiforgery keys in memory. The default repository writes them under the user profile, which a worker
/// has no business doing; losing them on restart only means an open form asks to be reloaded.
/// </summary>
internal sealed class InMemoryKeyRepository : IXmlRepository
{
    private readonly List<XElement> _elements = [];
    private readonly Lock _lock = new();

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock)
        {
            return _elements.Select(e => new XElement(e)).ToArray();
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_lock)
        {
            _elements.Add(new XElement(element));
        }
    }
}
